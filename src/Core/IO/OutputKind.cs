namespace TorchToNnef.IO;

/// <summary>
/// What an output is (a file or a folder) and how to recognise an existing one of the same kind, which is all that
/// <see cref="OutputOptions.Overwrite"/> may replace: an NNEF archive over an NNEF archive, never over a photo album.
/// The recogniser looks at the existing path and returns null when it is recognisably of this kind, else the reason
/// it is not (shown to the user, e.g. "holds 'notes.txt', which is not part of an NNEF model").
/// </summary>
public sealed class OutputKind
{
    private readonly Func<string, string?> _whyNotOfThisKind;

    private OutputKind(string description, bool isDirectory, Func<string, string?> whyNotOfThisKind)
    {
        Description = description;
        IsDirectory = isDirectory;
        _whyNotOfThisKind = whyNotOfThisKind;
    }

    /// <summary>A file that overwrite may replace without looking inside (what <see cref="AtomicFile"/> writes).</summary>
    public static OutputKind AnyFile { get; } = new("a file", false, _ => null);

    /// <summary>What the output is, for messages (e.g. "an NNEF archive").</summary>
    public string Description { get; }

    /// <summary>True for a folder written as a whole, false for a file.</summary>
    public bool IsDirectory { get; }

    /// <summary>
    /// A file output; <paramref name="whyNotOfThisKind"/> inspects an existing file. It is not called for an empty
    /// file, which is never recognised: that is also how a FIFO, socket or device looks, and opening one could block.
    /// </summary>
    public static OutputKind File(string description, Func<string, string?> whyNotOfThisKind) =>
        new(description, false, path => new FileInfo(path).Length == 0 ? "it is empty or not a regular file" : whyNotOfThisKind(path));

    /// <summary>A folder output, replaced whole; <paramref name="whyNotOfThisKind"/> inspects an existing folder.</summary>
    public static OutputKind Directory(string description, Func<string, string?> whyNotOfThisKind) => new(description, true, whyNotOfThisKind);

    /// <summary>Null when the existing <paramref name="path"/> is recognisably of this kind, else why it is not.</summary>
    public string? WhyNotOfThisKind(string path)
    {
        try
        {
            return _whyNotOfThisKind(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot be read ({e.Message})";
        }
    }
}
