namespace TorchToNnef.IO;

/// <summary>
/// Canonical absolute paths for comparing inputs and outputs, like POSIX <c>realpath</c> but also for paths that do
/// not exist yet: every existing component that is a symbolic link is replaced by its target, <c>.</c> is dropped and
/// <c>..</c> goes to the parent of what the path resolved to so far (as the kernel does: <c>link/..</c> is the parent
/// of the link's target, not the folder holding the link). Components past the first missing one are kept as
/// written.
/// </summary>
internal static class RealPath
{
    private const int MaxLinks = 40;

    private static readonly char[] Separators = [Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar];

    /// <summary>How paths compare on this platform (case-insensitive where the default file systems are).</summary>
    public static StringComparison Comparison { get; } =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    /// <summary>The canonical absolute form of <paramref name="path"/>, relative to the current directory.</summary>
    /// <exception cref="IOException">More than 40 symbolic links on the way (a loop).</exception>
    public static string Resolve(string path)
    {
        string absolute = Path.IsPathFullyQualified(path) ? path : Path.Combine(Directory.GetCurrentDirectory(), path);
        string current = Path.GetPathRoot(absolute) ?? throw new IOException($"{path}: no root");
        var pending = new Stack<string>(Split(absolute[current.Length..]).Reverse());
        int links = 0;
        while (pending.TryPop(out string? part))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }

            string next = Path.Combine(current, part);
            string? target = LinkTarget(next);
            if (target is null)
            {
                current = next;
                continue;
            }

            if (++links > MaxLinks)
            {
                throw new IOException($"{path}: too many levels of symbolic links");
            }

            string targetAbsolute = Path.IsPathFullyQualified(target) ? target : Path.Combine(current, target);
            string root = Path.GetPathRoot(targetAbsolute)!;
            if (Path.IsPathFullyQualified(target))
            {
                current = root;
                foreach (string p in Split(targetAbsolute[root.Length..]).Reverse())
                {
                    pending.Push(p);
                }
            }
            else
            {
                foreach (string p in Split(target).Reverse())
                {
                    pending.Push(p);
                }
            }
        }

        return current;
    }

    /// <summary>True when <paramref name="a"/> and <paramref name="b"/> (canonical) name the same path.</summary>
    public static bool Same(string a, string b) => string.Equals(a, b, Comparison);

    /// <summary>True when <paramref name="inner"/> lies strictly below <paramref name="outer"/> (both canonical).</summary>
    public static bool IsInside(string inner, string outer)
    {
        string prefix = Path.EndsInDirectorySeparator(outer) ? outer : outer + Path.DirectorySeparatorChar;
        return inner.Length > prefix.Length && inner.StartsWith(prefix, Comparison);
    }

    /// <summary>True when <paramref name="path"/> (canonical) is the root of a file system.</summary>
    public static bool IsRoot(string path) => string.Equals(Path.GetPathRoot(path), path, StringComparison.Ordinal);

    private static string[] Split(string path) => path.Split(Separators, StringSplitOptions.RemoveEmptyEntries);

    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
