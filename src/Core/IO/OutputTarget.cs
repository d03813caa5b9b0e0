namespace TorchToNnef.IO;

/// <summary>
/// One output of an <see cref="OutputTransaction"/>: where it goes, what it is, and its temporary twin, created next
/// to the destination (same folder, so the final move is a rename on one file system). A file output is written
/// through <see cref="CreateFile"/>; a folder output through <see cref="CreateFileIn"/> (or <see cref="CreateDirectory"/>).
/// </summary>
public sealed class OutputTarget
{
    private readonly OutputTransaction _owner;

    internal OutputTarget(OutputTransaction owner, string path, string fullPath, OutputKind kind, bool replaces)
    {
        _owner = owner;
        Path = path;
        FullPath = fullPath;
        Kind = kind;
        Replaces = replaces;
    }

    /// <summary>The destination as given.</summary>
    public string Path { get; }

    /// <summary>The destination resolved (absolute, symbolic links of its folders followed).</summary>
    public string FullPath { get; }

    /// <summary>What the output is.</summary>
    public OutputKind Kind { get; }

    /// <summary>True when an existing output of the same kind will be replaced on commit.</summary>
    public bool Replaces { get; }

    /// <summary>Cancelled when the run is (its transaction's token), for writers that also work on other threads.</summary>
    public CancellationToken Cancellation => _owner.Cancellation;

    /// <summary>The temporary path, once created.</summary>
    public string? TemporaryPath { get; internal set; }

    /// <summary>Set once the output is in place.</summary>
    internal bool Committed { get; set; }

    /// <summary>
    /// Creates the temporary file of a file output and returns its stream (the caller disposes it; writes stop with
    /// <see cref="OperationCanceledException"/> once the transaction is cancelled). Call once.
    /// </summary>
    public FileStream CreateFile()
    {
        if (Kind.IsDirectory)
        {
            throw new InvalidOperationException($"{Path} is a folder output; use CreateFileIn.");
        }

        return _owner.Stage(this, directory: false) is { } stream ? stream : throw new InvalidOperationException("no stream");
    }

    /// <summary>Creates the temporary folder of a folder output (once) and returns its path.</summary>
    public string CreateDirectory()
    {
        if (!Kind.IsDirectory)
        {
            throw new InvalidOperationException($"{Path} is a file output; use CreateFile.");
        }

        if (TemporaryPath is null)
        {
            _owner.Stage(this, directory: true);
        }

        return TemporaryPath!;
    }

    /// <summary>
    /// Creates a file at <paramref name="relativePath"/> (<c>/</c>-separated, no <c>..</c>, no leading <c>/</c>) inside the
    /// temporary folder of a folder output, creating sub-folders as needed.
    /// </summary>
    public FileStream CreateFileIn(string relativePath) => _owner.CreateInside(this, Inside(relativePath));

    /// <summary>
    /// Creates the (possibly empty) sub-folder <paramref name="relativePath"/> (<c>/</c>-separated, no <c>..</c>) inside
    /// the temporary folder of a folder output; returns its path.
    /// </summary>
    public string CreateDirectoryIn(string relativePath) => _owner.CreateFolderInside(this, Inside(relativePath));

    private string Inside(string relativePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(relativePath);
        string[] parts = relativePath.Split('/');
        if (relativePath.StartsWith('/') || parts.Any(p => p.Length == 0 || p is "." or ".." || p.Contains('\\') || p.Contains('\0')))
        {
            throw new ArgumentException($"'{relativePath}' is not a safe relative path.", nameof(relativePath));
        }

        string root = CreateDirectory();
        return System.IO.Path.Combine([root, .. parts]);
    }
}
