namespace TorchToNnef.Cli.Commands;

/// <summary>Sizes of files and folders for the summaries ("archive 9.2 KiB -> 1.3 KiB").</summary>
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

    /// <summary>A size in B, KiB, MiB or GiB.</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.##} KiB",
        _ => $"{bytes} B",
    };
}
