using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Onnx.Reading;

/// <summary>
/// The external data files of one model, each memory-mapped once however many tensors it holds. A location must be
/// a relative path that stays inside the model's folder: no absolute path, no <c>..</c> component, and no symbolic
/// link (of the file or of a folder on the way) that leads out of it.
/// </summary>
internal sealed class ExternalDataFiles(string modelPath) : IDisposable
{
    private const int MaxLinkHops = 40;

    private readonly string _modelPath = modelPath;
    private readonly Dictionary<string, MappedFile> _open = new(StringComparer.Ordinal);
    private string? _realModelDir;

    /// <summary>The mapped file at <paramref name="location"/>, for tensor <paramref name="tensor"/> (named in errors).</summary>
    public MappedFile Open(string location, string tensor)
    {
        string path = Resolve(location, tensor);
        if (!_open.TryGetValue(path, out MappedFile? file))
        {
            try
            {
                file = MappedFile.Open(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InvalidInputFileException(_modelPath, tensor, $"external data file '{location}' cannot be opened: {e.Message}", e);
            }

            _open.Add(path, file);
        }

        return file;
    }

    public void Dispose()
    {
        foreach (MappedFile f in _open.Values)
        {
            f.Dispose();
        }

        _open.Clear();
    }

    /// <summary>Checks a location and returns the real (link-free) path of the file it names.</summary>
    private string Resolve(string location, string tensor)
    {
        if (location.Length == 0)
        {
            throw Refuse(location, tensor, "is empty");
        }

        if (location.Contains('\0'))
        {
            throw Refuse(location, tensor, "contains a NUL character");
        }

        if (Path.IsPathRooted(location) || location.StartsWith('/') || location.StartsWith('\\') || (location.Length > 1 && location[1] == ':'))
        {
            throw Refuse(location, tensor, "is an absolute path; external data must be given relative to the model's folder");
        }

        string[] parts = location.Split('/', '\\');
        if (parts.Contains(".."))
        {
            throw Refuse(location, tensor, "contains '..'; external data must stay inside the model's folder");
        }

        _realModelDir ??= RealPath(Path.GetDirectoryName(Path.GetFullPath(_modelPath))!);
        string candidate = Path.Combine([_realModelDir, .. parts.Where(p => p.Length > 0 && p != ".")]);
        string real;
        try
        {
            real = RealPath(candidate);
        }
        catch (IOException e)
        {
            throw Refuse(location, tensor, $"cannot be resolved ({e.Message})");
        }

        string prefix = _realModelDir.EndsWith(Path.DirectorySeparatorChar) ? _realModelDir : _realModelDir + Path.DirectorySeparatorChar;
        if (!real.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw Refuse(location, tensor, $"leads outside the model's folder (to {real}) through a symbolic link");
        }

        if (!File.Exists(real))
        {
            throw new InvalidInputFileException(_modelPath, tensor, $"external data file '{location}' does not exist (looked for {candidate})");
        }

        return real;
    }

    private InvalidInputFileException Refuse(string location, string tensor, string what) =>
        new(_modelPath, tensor, $"external data location '{location}' {what}");

    /// <summary>
    /// The absolute path with every symbolic link resolved, component by component (a link in a parent folder counts
    /// as much as a link to the file). Components that do not exist are kept as they are.
    /// </summary>
    internal static string RealPath(string path)
    {
        string full = Path.GetFullPath(path);
        string root = Path.GetPathRoot(full)!;
        var pending = new Stack<string>(full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse());
        string current = root;
        int hops = 0;
        while (pending.Count > 0)
        {
            string part = pending.Pop();
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? root;
                continue;
            }

            string next = Path.Combine(current, part);
            // LinkTarget reads the link itself (lstat/readlink): null for plain files, folders and missing paths.
            string? target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }

            if (++hops > MaxLinkHops)
            {
                throw new IOException($"too many symbolic links under {path}");
            }

            // Resolve the link's target relative to the folder holding the link, then walk its components again.
            string absolute = Path.IsPathRooted(target) ? target : Path.Combine(current, target);
            string targetRoot = Path.GetPathRoot(absolute)!;
            foreach (string p in absolute[targetRoot.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse())
            {
                pending.Push(p);
            }

            current = targetRoot;
        }

        return current;
    }
}
