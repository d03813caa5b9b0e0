using TorchToNnef.Errors;

namespace TorchToNnef.IO;

/// <summary>
/// Says in a few words what an I/O exception means, without the runtime's message (which names whatever path the
/// operating system saw, a temporary file included, and reads "Could not find a part of the path").
/// </summary>
public static class IoErrorText
{
    // errno values (Linux, macOS agree on these); on Unix, .NET puts the errno into IOException.HResult.
    private const int EPERM = 1;
    private const int ENOENT = 2;
    private const int EACCES = 13;
    private const int EEXIST = 17;
    private const int ENOTDIR = 20;
    private const int EISDIR = 21;
    private const int ENOSPC = 28;
    private const int EROFS = 30;
    private const int EDQUOT = 122;

    /// <summary>What went wrong, for example <c>no space left on the device</c>.</summary>
    public static string Reason(Exception e) => e switch
    {
        OutputWriteException w => w.InnerException is { } inner ? Reason(inner) : w.Message,
        FileNotFoundException => "no such file",
        DirectoryNotFoundException => "its folder does not exist",
        UnauthorizedAccessException => "permission denied",
        PathTooLongException => "the path is too long",
        IOException io => io.HResult switch
        {
            EPERM or EACCES => "permission denied",
            ENOENT => "no such file or folder",
            EEXIST => "something else was created at that path meanwhile",
            ENOTDIR => "a part of the path is a file, not a folder",
            EISDIR => "it is a folder",
            ENOSPC => "no space left on the device",
            EROFS => "the file system is read-only",
            EDQUOT => "the disk quota is exceeded",
            _ => "input/output error",
        },
        _ => "input/output error",
    };

    /// <summary>
    /// A one-line description naming <paramref name="path"/> (the path the user gave) and what went wrong; for an
    /// exception raised without a known path, the path the runtime names, unless it is one of our temporary names.
    /// </summary>
    public static string Describe(Exception e, string? path = null)
    {
        path ??= (e as FileNotFoundException)?.FileName ?? QuotedPath(e.Message);
        if (path is not null && TempNames.TryParse(Path.GetFileName(path), out _, out _))
        {
            path = Path.GetDirectoryName(path);
        }

        return path is null ? Reason(e) : $"{path}: {Reason(e)}";
    }

    // The runtime's messages quote the path: "Could not find file '/x'.", "Access to the path '/x' is denied.",
    // "Read-only file system : '/x'".
    private static string? QuotedPath(string message)
    {
        int first = message.IndexOf('\'', StringComparison.Ordinal);
        int last = message.LastIndexOf('\'');
        return first >= 0 && last > first + 1 ? message[(first + 1)..last] : null;
    }
}
