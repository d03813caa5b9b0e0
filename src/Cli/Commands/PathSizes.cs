namespace TorchToNnef.Cli.Commands;

/// <summary>Sizes of files and folders for the summaries (an archive before and after).</summary>
internal static class PathSizes
{
    /// <summary>The length of a file, or the total of the files under a folder (0 when the path is gone).</summary>
    public static long Of(string path)
    {
        if (File.Exists(path))
        {
            return new FileInfo(path).Length;
        }

        return Directory.Exists(path)
            ? new DirectoryInfo(path).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length)
            : 0;
    }
}
