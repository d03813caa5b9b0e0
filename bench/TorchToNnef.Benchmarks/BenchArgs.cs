namespace TorchToNnef.Benchmarks;

/// <summary>Command-line options of the runs that are not BenchmarkDotNet jobs.</summary>
internal static class BenchArgs
{
    /// <summary>The value after <paramref name="name"/> in <paramref name="args"/>, or null when it is absent or last.</summary>
    public static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
