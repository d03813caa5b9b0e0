namespace TorchToNnef.IO;

/// <summary>
/// Finds what a killed t2n run left in a folder (<see cref="TempNames"/>: the prefix, then the id of a process that
/// is no longer running, or this process's own id on a name this process is not using, as after a restart in a
/// container where ids repeat). A temporary file or folder is removed: it was never a complete output. An output set
/// aside by a run killed in the middle of replacing it is reported, not removed: it may be the only copy.
/// Names of running processes are never touched (they may belong to a concurrent run).
/// </summary>
internal static class StaleTemporaries
{
    private static readonly HashSet<string> Live = new(StringComparer.Ordinal);

    /// <summary>Sweeps <paramref name="directory"/> (not recursively); <paramref name="report"/> gets one line per finding.</summary>
    public static void Sweep(string directory, Action<string>? report)
    {
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(directory, TempNames.Prefix + "*", new EnumerationOptions { AttributesToSkip = 0, IgnoreInaccessible = true }).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (string entry in entries)
        {
            if (!TempNames.TryParse(Path.GetFileName(entry), out bool aside, out int pid) || !IsStale(entry, pid))
            {
                continue;
            }

            if (aside)
            {
                report?.Invoke($"found {entry}: an output an interrupted t2n run (process {pid}) had set aside while replacing it; move it back or delete it");
                continue;
            }

            string? problem = Remove(entry);
            report?.Invoke(problem is null
                ? $"removed {entry}, left by an interrupted t2n run (process {pid})"
                : $"could not remove {entry}, left by an interrupted t2n run (process {pid}): {problem}");
        }
    }

    /// <summary>Marks <paramref name="path"/> as in use by this process (before it is created).</summary>
    internal static void Claim(string path)
    {
        lock (Live)
        {
            Live.Add(path);
        }
    }

    /// <summary>Forgets <paramref name="path"/> (after it was moved or deleted).</summary>
    internal static void Release(string path)
    {
        lock (Live)
        {
            Live.Remove(path);
        }
    }

    private static bool IsStale(string path, int pid)
    {
        if (pid == Environment.ProcessId)
        {
            lock (Live)
            {
                return !Live.Contains(path);
            }
        }

        return !TempNames.IsProcessAlive(pid);
    }

    private static string? Remove(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is null && Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else
            {
                info.Delete();
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }
}
