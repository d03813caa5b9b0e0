using TorchToNnef.Export.Llm;
using TorchToNnef.Export.Llm.Exporting;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Export.Tests.Llm;

/// <summary>
/// No other test runs beside these: they count the process's producer and archive writer threads (named
/// <c>t2n prefetch N</c> and <c>t2n archive writer</c>), which another export or archive write would also start.
/// </summary>
[CollectionDefinition(nameof(LlmExportEarlyProducersTests), DisableParallelization = true)]
public sealed class LlmExportEarlyProducersCollection;

/// <summary>
/// <see cref="LlmExporter"/> starts producing and writing the weights into the archive before it builds the graph (the
/// archive file exists while the graph is built; NnefArchiveWriterTests show the bytes go out before the graph is
/// given), and a failure or a cancellation at that point leaves no output, no temporary file and no thread. With a
/// model this small the threads may already be done by then, so their count during the build is not asserted.
/// </summary>
[Collection(nameof(LlmExportEarlyProducersTests))]
public class LlmExportEarlyProducersTests
{
    [Fact]
    public void AFailureWhileTheGraphIsBuiltStopsTheProducersAndLeavesNothing()
    {
        using var temp = new TempDir();
        string dir = temp.File("export");
        int archivesDuringBuild = -1;
        LlmExportOptions options = Options(dir) with
        {
            EditGraph = _ =>
            {
                archivesDuringBuild = Archives(temp);
                throw new InvalidOperationException("injected failure in the graph build");
            },
        };

        var e = Assert.Throws<InvalidOperationException>(() => Export(options));
        Assert.Equal("injected failure in the graph build", e.Message);
        Assert.Equal(1, archivesDuringBuild);
        AssertNothingLeft(temp, dir);
    }

    [Fact]
    public void ACancellationWhileTheGraphIsBuiltStopsTheProducersAndLeavesNothing()
    {
        using var temp = new TempDir();
        using var cts = new CancellationTokenSource();
        string dir = temp.File("export");
        int archivesDuringBuild = -1;
        LlmExportOptions options = Options(dir) with
        {
            EditGraph = _ =>
            {
                archivesDuringBuild = Archives(temp);
                cts.Cancel();
            },
        };

        Assert.ThrowsAny<OperationCanceledException>(() => Export(options, cts.Token));
        Assert.Equal(1, archivesDuringBuild);
        AssertNothingLeft(temp, dir);
    }

    [Fact]
    public void WithOneThreadNoOtherThreadIsStarted()
    {
        using var temp = new TempDir();
        int runningDuringBuild = -1;
        LlmExportResult result = Export(Options(temp.File("export")) with { Threads = 1, EditGraph = _ => runningDuringBuild = WorkThreads() });
        Assert.Equal(0, runningDuringBuild);
        Assert.True(File.Exists(result.Archive));
    }

    private static void AssertNothingLeft(TempDir temp, string dir)
    {
        Assert.False(Directory.Exists(dir));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));

        // Disposing the producers joined their threads; the kernel drops a finished thread's entry a moment later.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (WorkThreads() > 0 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(10);
        }

        Assert.Equal(0, WorkThreads());
    }

    // The archive files under the (temporary) output.
    private static int Archives(TempDir temp) =>
        Directory.GetFiles(temp.Path, "*.tgz", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Length;

    // Threads of this process named as the producers and the archive writer name theirs (Linux exposes the names under /proc).
    private static int WorkThreads() =>
        Directory.GetDirectories("/proc/self/task").Count(t =>
        {
            try
            {
                string name = File.ReadAllText(Path.Combine(t, "comm"));
                return name.StartsWith("t2n prefetch", StringComparison.Ordinal) || name.StartsWith("t2n archive", StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false; // the thread ended while we looked
            }
        });

    private static LlmExportOptions Options(string dir) => new()
    {
        ExportDirectory = dir,
        IdentityProperties = false,
        Verify = false,
        Threads = 2,
        Compression = Quant.Registry.CompressionRegistry.Default.Get("min_max_q4_0_all"),
    };

    private static LlmExportResult Export(LlmExportOptions options, CancellationToken cancellation = default)
    {
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(Golden.File("llm", "llama", "hf"));
        return LlmExporter.Export(checkpoint, options, cancellation);
    }
}
