namespace TorchToNnef.TestSupport;

/// <summary>
/// Locates the repository root (the folder holding TorchToNnef.Managed.sln) and the golden reference files at
/// <c>../shared/golden</c> relative to it. A missing golden folder is an error, never a silent skip.
/// </summary>
public static class Golden
{
    private static readonly Lazy<string> Root = new(FindRepoRoot);

    /// <summary>The repository root.</summary>
    public static string RepoRoot => Root.Value;

    /// <summary>The golden folder, <c>&lt;repo&gt;/../shared/golden</c>.</summary>
    public static string Dir
    {
        get
        {
            string dir = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "golden"));
            return Directory.Exists(dir)
                ? dir
                : throw new DirectoryNotFoundException($"Golden reference folder not found at {dir}; tests need ../shared/golden.");
        }
    }

    /// <summary>A path under the golden folder; throws if it does not exist.</summary>
    public static string File(params string[] parts)
    {
        string path = Path.Combine([Dir, .. parts]);
        return System.IO.File.Exists(path) || Directory.Exists(path)
            ? path
            : throw new FileNotFoundException($"Golden file missing: {path}");
    }

    private static string FindRepoRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (System.IO.File.Exists(Path.Combine(dir, "TorchToNnef.Managed.sln")))
            {
                return dir;
            }
        }

        throw new DirectoryNotFoundException($"TorchToNnef.Managed.sln not found above {AppContext.BaseDirectory}.");
    }
}
