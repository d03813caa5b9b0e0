using System.Diagnostics;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Cli.Tests.Safety;

/// <summary>
/// SIGINT and SIGTERM in the middle of a run (a child <c>t2n</c> process on a large enough input): everything the run
/// created is removed, the folder is as it was, and the exit status is 128 + the signal. After SIGKILL, the next run
/// removes the temporary files the killed run left (recognised by their prefix and a process id no longer alive).
/// </summary>
[Collection(nameof(InterruptTests))]
[CollectionDefinition(nameof(InterruptTests), DisableParallelization = true)]
public class InterruptTests(ITestOutputHelper log)
{
    private const int SigInt = 2;
    private const int SigKill = 9;
    private const int SigTerm = 15;

    private static string BigSafetensors(TempDir tmp)
    {
        string input = tmp.File("big.safetensors");
        SafetensorsWriter.Write(
            input,
            Enumerable.Range(0, 24).Select(i => ($"layer{i}.weight", TensorSource.Computed(DType.F32, new Shape(1024, 1024), () => SafetyFixture.Random(DType.F32, new Shape(1024, 1024), i)))));
        return input;
    }

    [Theory]
    [InlineData(SigInt, 130)]
    [InlineData(SigTerm, 143)]
    public void QuantizeInterruptedLeavesNothingBehind(int signal, int status)
    {
        using var tmp = new TempDir();
        string input = BigSafetensors(tmp);
        InterruptMidRun(tmp.Path, signal, status, "quantize", input, "-o", tmp.File("out"), "-c", "mse_opt_q4_0_all", "--threads", "1");
    }

    [Fact]
    public void ASecondSignalStopsAtOnceAndStillCleansUp()
    {
        using var tmp = new TempDir();
        string input = BigSafetensors(tmp);
        InterruptMidRun(tmp.Path, SigInt, 130, ["quantize", input, "-o", tmp.File("out"), "-c", "mse_opt_q4_0_all", "--threads", "1"], twice: true);
    }

    [Fact]
    public void QuantizeInterruptedWithOverwriteKeepsTheEarlierFiles()
    {
        using var tmp = new TempDir();
        string input = BigSafetensors(tmp);
        (int code, _, string stderr) = CliRunner.Run("quantize", input, "-o", tmp.File("out"), "--tract-version", "0.21.10");
        Assert.True(code == 0, stderr);
        InterruptMidRun(tmp.Path, SigTerm, 143, "quantize", input, "-o", tmp.File("out"), "-c", "mse_opt_q4_0_all", "--threads", "1", "--overwrite");
    }

    [Theory]
    [InlineData("out", SigInt, 130)]
    [InlineData("out.nnef.tgz", SigTerm, 143)]
    public void CompressInterruptedLeavesNothingBehind(string output, int signal, int status)
    {
        using var tmp = new TempDir();
        NnefArchive.Write(SafetyFixture.LinearChain(24, 1024), tmp.File("model"));
        InterruptMidRun(tmp.Path, signal, status, "compress", "-i", tmp.File("model"), "-o", tmp.File(output), "-c", "mse_opt_q4_0");
    }

    [Fact]
    public void AfterSigkillTheNextRunRemovesTheStaleTemporaryFiles()
    {
        using var tmp = new TempDir();
        string input = BigSafetensors(tmp);
        string output = tmp.File("out");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "keep.txt"), "mine");
        using (Process p = SafetyFixture.Start(tmp.Path, "quantize", input, "-o", output, "-c", "mse_opt_q4_0_all", "--threads", "1"))
        {
            WaitForTemporary(output, p);
            SafetyFixture.Signal(p.Id, SigKill);
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(1)));
        }

        string[] leftovers = Directory.GetFileSystemEntries(output).Select(Path.GetFileName).Where(n => n!.StartsWith(".t2n-", StringComparison.Ordinal)).ToArray()!;
        Assert.NotEmpty(leftovers);
        log.WriteLine("left by the killed run: " + string.Join(", ", leftovers));

        // A temporary name of a process that is still running is left alone (it may be a concurrent run).
        string small = tmp.File("small.safetensors");
        SafetyFixture.WriteSafetensors(small, "s");
        using Process sleeper = Process.Start("sleep", "120");
        string live = Path.Combine(output, $".t2n-tmp-{sleeper.Id}-0123456789abcdef");
        File.WriteAllText(live, "in use");
        try
        {
            (int code, string stdout, string stderr) = CliRunner.Run("quantize", small, "-o", output);
            Assert.True(code == 0, stderr);
            foreach (string l in leftovers)
            {
                Assert.Contains(l, stderr);
                Assert.False(Path.Exists(Path.Combine(output, l)), l);
            }

            Assert.True(File.Exists(live));
            Assert.Equal("mine", File.ReadAllText(Path.Combine(output, "keep.txt")));
            Assert.Equal(new[] { "keep.txt", "s.dat", Path.GetFileName(live) }.Order(StringComparer.Ordinal), Directory.GetFileSystemEntries(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            log.WriteLine(stdout + stderr);
        }
        finally
        {
            sleeper.Kill();
        }
    }

    private void InterruptMidRun(string folder, int signal, int status, params string[] args) => InterruptMidRun(folder, signal, status, args, twice: false);

    private void InterruptMidRun(string folder, int signal, int status, string[] args, bool twice)
    {
        SortedDictionary<string, string> before = SafetyFixture.Snapshot(folder);
        using Process p = SafetyFixture.Start(folder, args);
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        WaitForChange(folder, before, p);
        SafetyFixture.Signal(p.Id, signal);
        if (twice)
        {
            SafetyFixture.Signal(p.Id, signal);
        }

        log.WriteLine($"signal {signal} sent {clock.ElapsedMilliseconds} ms after start");
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(1)), "the run did not stop");
        string output = stdout.Result + stderr.Result;
        log.WriteLine($"exited {p.ExitCode} after {clock.ElapsedMilliseconds} ms: {output}");
        SafetyFixture.AssertUnchanged(before, folder, output);
        Assert.True(p.ExitCode == status, $"exit {p.ExitCode}: {output}");
        Assert.Contains("interrupted", output);
    }

    private static void WaitForChange(string folder, SortedDictionary<string, string> before, Process p)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            Assert.False(p.HasExited, $"the run ended (exit {(p.HasExited ? p.ExitCode : 0)}) before anything was written");
            if (Directory.EnumerateFileSystemEntries(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                .Any(e => !before.ContainsKey(Path.GetRelativePath(folder, e))))
            {
                return;
            }

            Thread.Sleep(5);
        }

        throw new TimeoutException("the run wrote nothing within 2 minutes");
    }

    private static void WaitForTemporary(string folder, Process p)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            Assert.False(p.HasExited, "the run ended before writing");
            if (Directory.EnumerateFileSystemEntries(folder).Any(e => Path.GetFileName(e).StartsWith('.')))
            {
                return;
            }

            Thread.Sleep(5);
        }

        throw new TimeoutException("no temporary file within 2 minutes");
    }
}
