namespace TorchToNnef.Fuzz;

/// <summary>
/// A private folder for the readers that only take a path: each input is written there under the file name the
/// reader expects. <c>T2N_FUZZ_SCRATCH</c> chooses the parent (fuzz/run.sh points it into its work folder, which it
/// removes, because afl-fuzz ends its targets with SIGKILL); otherwise the system temporary folder is used.
/// </summary>
internal sealed class Scratch : IDisposable
{
    private readonly string _dir;

    public Scratch()
    {
        string parent = Environment.GetEnvironmentVariable("T2N_FUZZ_SCRATCH") is { Length: > 0 } s ? s : Path.GetTempPath();
        _dir = Path.Combine(parent, $"t2n-fuzz-{Environment.ProcessId}");
        Directory.CreateDirectory(_dir);
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="fileName"/> in the folder and returns its path.</summary>
    public string Write(string fileName, byte[] bytes)
    {
        string path = Path.Combine(_dir, fileName);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover holds only fuzz inputs.
        }
    }
}
