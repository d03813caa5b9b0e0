using TorchToNnef.Errors;

namespace TorchToNnef.IO;

/// <summary>
/// The one output policy of every command and library writer: declare the inputs and outputs of a run, write each
/// output to a temporary twin, then <see cref="Commit"/> moves them all into place; disposing without a commit (an
/// error, a cancellation) removes everything the run created. Checked when an output is declared, before anything is
/// written:
/// <list type="bullet">
/// <item>an existing path is refused unless <see cref="OutputOptions.Overwrite"/>, and even then replaced only when it is
/// recognisably of the same <see cref="OutputKind"/>; a symbolic link, device or FIFO is never replaced;</item>
/// <item>an output is never an input of the run, never inside an input folder, and a folder replaced whole never holds
/// an input or the current folder; paths are compared resolved (absolute, <c>..</c> and symbolic links followed);</item>
/// <item>two outputs of one run never share a path (compared ignoring case, as on case-insensitive file systems).</item>
/// </list>
/// Temporary names are <see cref="TempNames"/> (hidden, with the process id); the leftovers of a killed run are swept
/// from each output folder when it is first used (<see cref="StaleTemporaries"/>). Writes through the streams this
/// hands out stop at the first write after <see cref="Cancellation"/> fires. <see cref="AbortAll"/> discards the
/// uncommitted outputs of every transaction of the process (for a process about to exit on a signal). Declare inputs
/// and outputs from one thread; the streams of different outputs may be written from others.
/// </summary>
public sealed class OutputTransaction : IDisposable
{
    private static readonly HashSet<OutputTransaction> Open = [];

    private readonly object _gate = new();
    private readonly OutputOptions _options;
    private readonly List<(string Given, string Full)> _inputs = [];
    private readonly List<OutputTarget> _outputs = [];
    private readonly List<string> _createdDirectories = [];
    private readonly HashSet<string> _swept = new(StringComparer.Ordinal);

    // Every declared output path, and every folder above one, ignoring case: overlap checks in O(depth), not O(outputs).
    private readonly Dictionary<string, OutputTarget> _outputPaths = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, OutputTarget> _outputAncestors = new(StringComparer.OrdinalIgnoreCase);
    private State _state = State.Open;

    /// <summary>Starts a transaction.</summary>
    /// <param name="options">Overwrite and notices; defaults when null.</param>
    /// <param name="cancellation">Stops writes and the commit (the run then cleans up and throws <see cref="OperationCanceledException"/>).</param>
    public OutputTransaction(OutputOptions? options = null, CancellationToken cancellation = default)
    {
        _options = options ?? new OutputOptions();
        Cancellation = cancellation;
        lock (Open)
        {
            Open.Add(this);
        }
    }

    private enum State
    {
        Open,
        Committing,
        Committed,
        Aborted,
    }

    /// <summary>The token that stops this run.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>The declared outputs, in order.</summary>
    public IReadOnlyList<OutputTarget> Outputs => _outputs;

    /// <summary>
    /// Discards the uncommitted outputs of every open transaction in this process (a commit in progress is let
    /// finish). Later writes and commits of those transactions throw <see cref="OperationCanceledException"/>.
    /// </summary>
    public static void AbortAll()
    {
        OutputTransaction[] open;
        lock (Open)
        {
            open = [.. Open];
        }

        foreach (OutputTransaction t in open)
        {
            t.Abort();
        }
    }

    /// <summary>Declares an input of the run (a file or folder that is read and must never be written).</summary>
    /// <exception cref="OutputRefusedException">A declared output is, is inside, or (replaced whole) holds this input.</exception>
    public void AddInput(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = RealPath.Resolve(path);
        lock (_gate)
        {
            foreach (OutputTarget o in _outputs)
            {
                CheckAgainstInput(o.Path, o.FullPath, o.Kind, path, full);
            }

            _inputs.Add((path, full));
        }
    }

    /// <summary>Declares an output; everything that can refuse it is checked now, before anything is written.</summary>
    /// <exception cref="OutputRefusedException">The path is refused (see the class summary).</exception>
    public OutputTarget AddOutput(string path, OutputKind kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(kind);
        ThrowIfStopped();
        (string full, bool isLink) = ResolveOutput(path);
        if (RealPath.IsRoot(full))
        {
            throw new OutputRefusedException(path, OutputRefusal.Unusable, "is the root of a file system");
        }

        if (kind.IsDirectory)
        {
            string cwd = RealPath.Resolve(Directory.GetCurrentDirectory());
            if (RealPath.Same(full, cwd) || RealPath.IsInside(cwd, full))
            {
                throw new OutputRefusedException(path, OutputRefusal.Unusable, "is the current folder or holds it; a folder output is replaced whole, so choose another path");
            }
        }

        lock (_gate)
        {
            foreach ((string given, string input) in _inputs)
            {
                CheckAgainstInput(path, full, kind, given, input);
            }

            if (_outputPaths.TryGetValue(full, out OutputTarget? same))
            {
                throw new OutputRefusedException(path, OutputRefusal.OtherOutput, $"is also the path of another output of this run ({same.Path})");
            }

            if (_outputAncestors.TryGetValue(full, out OutputTarget? below))
            {
                throw new OutputRefusedException(path, OutputRefusal.OtherOutput, $"would hold another output of this run ({below.Path})");
            }

            for (string? d = Path.GetDirectoryName(full); d is not null; d = Path.GetDirectoryName(d))
            {
                if (_outputPaths.TryGetValue(d, out OutputTarget? above))
                {
                    throw new OutputRefusedException(path, OutputRefusal.OtherOutput, $"would be inside another output of this run ({above.Path})");
                }
            }
        }

        bool replaces = CheckExisting(path, full, isLink, kind);
        CheckParents(path, full);
        Sweep(Path.GetDirectoryName(full)!);
        var target = new OutputTarget(this, path, full, kind, replaces);
        lock (_gate)
        {
            _outputs.Add(target);
            _outputPaths[full] = target;
            for (string? d = Path.GetDirectoryName(full); d is not null; d = Path.GetDirectoryName(d))
            {
                _outputAncestors.TryAdd(d, target);
            }
        }

        return target;
    }

    /// <summary>
    /// Moves every output into place: a file replaces its predecessor atomically; a folder replacing a folder sets the
    /// old one aside, moves the new one in, then deletes the old one. If a move fails, the outputs already moved that
    /// were new are removed and replaced folders are put back (a replaced file cannot be restored). Not interrupted by
    /// cancellation once started.
    /// </summary>
    /// <exception cref="InvalidOperationException">An output was declared but never written.</exception>
    /// <exception cref="OperationCanceledException">Cancelled or aborted before the commit started.</exception>
    public void Commit()
    {
        var trash = new List<string>();
        lock (_gate)
        {
            ThrowIfStopped();
            OutputTarget? unwritten = _outputs.FirstOrDefault(o => o.TemporaryPath is null);
            if (unwritten is not null)
            {
                throw new InvalidOperationException($"output {unwritten.Path} was declared but never written");
            }

            _state = State.Committing;
            var setAside = new List<(OutputTarget Target, string Aside)>();
            try
            {
                foreach (OutputTarget o in _outputs)
                {
                    if (MoveIntoPlaceOrExplain(o) is string aside)
                    {
                        setAside.Add((o, aside));
                    }

                    o.Committed = true;
                    StaleTemporaries.Release(o.TemporaryPath!);
                }
            }
            catch
            {
                RollBackCommit(setAside);
                _state = State.Aborted;
                DeleteTemporaries();
                Unregister();
                throw;
            }

            foreach ((_, string aside) in setAside)
            {
                // Renamed to a temporary name first, so that a kill during the (long) delete leaves a name that the
                // next run removes, not one that looks like a set-aside output.
                string doomed = Path.Combine(Path.GetDirectoryName(aside)!, TempNames.NewTemporary());
                StaleTemporaries.Claim(doomed);
                try
                {
                    Directory.Move(aside, doomed);
                    trash.Add(doomed);
                }
                catch (IOException)
                {
                    StaleTemporaries.Release(doomed);
                    trash.Add(aside);
                }

                StaleTemporaries.Release(aside);
            }

            _state = State.Committed;
        }

        foreach (string t in trash)
        {
            DeleteQuietly(t);
            StaleTemporaries.Release(t);
        }

        Unregister();
    }

    /// <summary>Removes everything this transaction created, unless it was committed.</summary>
    public void Dispose() => Abort();

    /// <summary>Throws <see cref="OperationCanceledException"/> once the run is cancelled or aborted.</summary>
    internal void ThrowIfStopped()
    {
        if (_state == State.Aborted)
        {
            throw new OperationCanceledException("the run was interrupted");
        }

        Cancellation.ThrowIfCancellationRequested();
    }

    /// <summary>Creates the temporary twin of <paramref name="target"/>; for a file output returns its stream.</summary>
    internal FileStream? Stage(OutputTarget target, bool directory)
    {
        lock (_gate)
        {
            ThrowIfStopped();
            if (_state != State.Open || target.TemporaryPath is not null)
            {
                throw new InvalidOperationException($"output {target.Path} was already written or the transaction is closed");
            }

            string parent = Path.GetDirectoryName(target.FullPath)!;
            try
            {
                CreateParents(parent);
                string temp = Path.Combine(parent, TempNames.NewTemporary());
                StaleTemporaries.Claim(temp);
                target.TemporaryPath = temp;
                if (directory)
                {
                    Directory.CreateDirectory(temp);
                    return null;
                }

                return new StagedFileStream(temp, target.Path, this);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The user named the output, not its temporary twin: the error says which output could not be written.
                throw new OutputWriteException(target.Path, e);
            }
        }
    }

    /// <summary>Creates a file inside the temporary folder of <paramref name="target"/>.</summary>
    internal FileStream CreateInside(OutputTarget target, string fullPath)
    {
        lock (_gate)
        {
            ThrowIfStopped();
            string userPath = Path.Combine(target.Path, Path.GetRelativePath(target.TemporaryPath!, fullPath));
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
                return new StagedFileStream(fullPath, userPath, this);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new OutputWriteException(userPath, e);
            }
        }
    }

    /// <summary>Creates a folder inside the temporary folder of <paramref name="target"/>.</summary>
    internal string CreateFolderInside(OutputTarget target, string fullPath)
    {
        lock (_gate)
        {
            ThrowIfStopped();
            Directory.CreateDirectory(fullPath);
            return fullPath;
        }
    }

    private static void CheckAgainstInput(string path, string full, OutputKind kind, string inputGiven, string input)
    {
        if (RealPath.Same(full, input))
        {
            throw new OutputRefusedException(path, OutputRefusal.Input, $"is the input {inputGiven} of this run; inputs are never modified");
        }

        if (RealPath.IsInside(full, input))
        {
            throw new OutputRefusedException(path, OutputRefusal.Input, $"is inside the input {inputGiven}; inputs are never modified");
        }

        if (RealPath.IsInside(input, full) && (kind.IsDirectory || Directory.Exists(full)))
        {
            throw new OutputRefusedException(path, OutputRefusal.Input, $"holds the input {inputGiven}; an output never replaces an input");
        }
    }

    // The destination with its folders resolved; the last component itself is not followed, so that a symbolic link
    // at the destination is seen (and refused) rather than written through.
    private static (string Full, bool IsLink) ResolveOutput(string path)
    {
        string trimmed = Path.TrimEndingDirectorySeparator(path);
        string name = Path.GetFileName(trimmed);
        if (name.Length == 0 || name is "." or "..")
        {
            return (RealPath.Resolve(trimmed.Length == 0 ? path : trimmed), false);
        }

        string absolute = Path.IsPathFullyQualified(trimmed) ? trimmed : Path.Combine(Directory.GetCurrentDirectory(), trimmed);
        string full = Path.Combine(RealPath.Resolve(Path.GetDirectoryName(absolute)!), name);
        return (full, new FileInfo(full).LinkTarget is not null);
    }

    private bool CheckExisting(string path, string full, bool isLink, OutputKind kind)
    {
        if (isLink)
        {
            throw new OutputRefusedException(path, OutputRefusal.Unusable, "is a symbolic link; t2n never writes through or replaces one");
        }

        bool isFile = File.Exists(full);
        bool isDirectory = Directory.Exists(full);
        if (!isFile && !isDirectory)
        {
            return false;
        }

        if (!_options.Overwrite)
        {
            throw new OutputRefusedException(path, OutputRefusal.Exists, "already exists; nothing was written (overwriting was not asked for)");
        }

        if (kind.IsDirectory != isDirectory)
        {
            throw new OutputRefusedException(
                path, OutputRefusal.NotOurs, $"is a {(isDirectory ? "folder" : "file")}, not {kind.Description}; not replaced");
        }

        if (kind.WhyNotOfThisKind(full) is string why)
        {
            throw new OutputRefusedException(path, OutputRefusal.NotOurs, $"is not {kind.Description} ({why}); not replaced");
        }

        return true;
    }

    private static void CheckParents(string path, string full)
    {
        for (string? dir = Path.GetDirectoryName(full); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (Directory.Exists(dir))
            {
                return;
            }

            if (Path.Exists(dir))
            {
                throw new OutputRefusedException(path, OutputRefusal.Unusable, $"cannot be created: {dir} is not a folder");
            }
        }
    }

    private void Sweep(string directory)
    {
        lock (_gate)
        {
            if (!_swept.Add(directory))
            {
                return;
            }
        }

        if (Directory.Exists(directory))
        {
            StaleTemporaries.Sweep(directory, _options.Notice);
        }
    }

    private void CreateParents(string directory)
    {
        var missing = new Stack<string>();
        for (string? d = directory; d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d))
        {
            missing.Push(d);
        }

        while (missing.TryPop(out string? d))
        {
            Directory.CreateDirectory(d);
            _createdDirectories.Add(d);
        }
    }

    // Returns the set-aside path when a folder was replaced.
    private static string? MoveIntoPlace(OutputTarget o)
    {
        string temp = o.TemporaryPath!;
        if (!o.Kind.IsDirectory)
        {
            File.Move(temp, o.FullPath, overwrite: o.Replaces);
            return null;
        }

        if (!o.Replaces)
        {
            Directory.Move(temp, o.FullPath);
            return null;
        }

        string aside = Path.Combine(Path.GetDirectoryName(o.FullPath)!, TempNames.NewAside());
        StaleTemporaries.Claim(aside);
        Directory.Move(o.FullPath, aside);
        try
        {
            Directory.Move(temp, o.FullPath);
        }
        catch
        {
            Directory.Move(aside, o.FullPath);
            StaleTemporaries.Release(aside);
            throw;
        }

        return aside;
    }

    private string? MoveIntoPlaceOrExplain(OutputTarget o)
    {
        try
        {
            return MoveIntoPlace(o);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OutputWriteException(o.Path, e);
        }
    }

    private void RollBackCommit(List<(OutputTarget Target, string Aside)> setAside)
    {
        foreach (OutputTarget o in _outputs.Where(o => o.Committed))
        {
            (OutputTarget Target, string Aside) replaced = setAside.FirstOrDefault(s => s.Target == o);
            if (replaced.Aside is not null)
            {
                DeleteQuietly(o.FullPath);
                TryMove(replaced.Aside, o.FullPath);
                StaleTemporaries.Release(replaced.Aside);
            }
            else if (!o.Replaces)
            {
                DeleteQuietly(o.FullPath);
            }

            o.Committed = false;
        }
    }

    private void Abort()
    {
        lock (_gate)
        {
            if (_state is State.Committed or State.Aborted)
            {
                Unregister();
                return;
            }

            _state = State.Aborted;
            DeleteTemporaries();
        }

        Unregister();
    }

    private void DeleteTemporaries()
    {
        foreach (OutputTarget o in _outputs)
        {
            if (o.TemporaryPath is string temp && !o.Committed)
            {
                DeleteQuietly(temp);
                StaleTemporaries.Release(temp);
            }
        }

        for (int i = _createdDirectories.Count - 1; i >= 0; i--)
        {
            try
            {
                if (Directory.Exists(_createdDirectories[i]) && !Directory.EnumerateFileSystemEntries(_createdDirectories[i]).Any())
                {
                    Directory.Delete(_createdDirectories[i]);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: the original error is what the user needs to see.
            }
        }
    }

    private void Unregister()
    {
        lock (Open)
        {
            Open.Remove(this);
        }
    }

    private static void TryMove(string from, string to)
    {
        try
        {
            Directory.Move(from, to);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The set-aside folder stays under its recognisable name; the next run reports it.
        }
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is null && Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else if (info.Exists || info.LinkTarget is not null)
            {
                info.Delete();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover temporary keeps its recognisable name and is swept by the next run.
        }
    }
}
