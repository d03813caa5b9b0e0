using TorchToNnef.Export.Llm;
using TorchToNnef.Export.Llm.Exporting;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Export.Tests.Llm;

/// <summary>
/// No other test runs beside these: they count the process's producer threads (named <c>t2n prefetch N</c>), which
/// another export or archive write would also start.
/// </summary>
[CollectionDefinition(nameof(LlmExportEarlyProducersTests), DisableParallelization = true)]
public sealed class LlmExportEarlyProducersCollection;

/// <summary>
/// <see cref="LlmExporter"/> starts producing the weights before it builds the graph: they are running while the
/// graph is built, and a failure or a cancellation at that point leaves no output, no temporary file and no producer.
/// </summary>
[Collection(nameof(LlmExportEarlyProducersTests))]
public class LlmExportEarlyProducersTests
{
    [Fact]
    public void AFailureWhileTheGraphIsBuiltStopsTheProducersAndLeavesNothing()
    {
        using var temp = new TempDir();
        string dir = temp.File("export");
        int runningDuringBuild = -1;
        LlmExportOptions options = Options(dir) with
        {
            EditGraph = _ =>
            {
                runningDuringBuild = ProducerThreads();
                throw new InvalidOperationException("injected failure in the graph build");
            },
        };

        var e = Assert.Throws<InvalidOperationException>(() => Export(options));
        Assert.Equal("injected failure in the graph build", e.Message);
        Assert.True(runningDuringBuild >= 1, $"{runningDuringBuild} producer threads while the graph was built");
        AssertNothingLeft(temp, dir);
    }

    [Fact]
    public void ACancellationWhileTheGraphIsBuiltStopsTheProducersAndLeavesNothing()
    {
        using var temp = new TempDir();
        using var cts = new CancellationTokenSource();
        string dir = temp.File("export");
        int runningDuringBuild = -1;
        LlmExportOptions options = Options(dir) with
        {
            EditGraph = _ =>
            {
                runningDuringBuild = ProducerThreads();
                cts.Cancel();
            },
        };

        Assert.ThrowsAny<OperationCanceledException>(() => Export(options, cts.Token));
        Assert.True(runningDuringBuild >= 1, $"{runningDuringBuild} producer threads while the graph was built");
        AssertNothingLeft(temp, dir);
    }

    [Fact]
    public void WithOneThreadNoProducerThreadIsStarted()
    {
        using var temp = new TempDir();
        int runningDuringBuild = -1;
        LlmExportResult result = Export(Options(temp.File("export")) with { Threads = 1, EditGraph = _ => runningDuringBuild = ProducerThreads() });
        Assert.Equal(0, runningDuringBuild);
        Assert.True(File.Exists(result.Archive));
    }

    private static void AssertNothingLeft(TempDir temp, string dir)
    {
        Assert.False(Directory.Exists(dir));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));

        // Disposing the producers joined their threads; the kernel drops a finished thread's entry a moment later.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (ProducerThreads() > 0 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(10);
        }

        Assert.Equal(0, ProducerThreads());
    }

    // Threads of this process named as the producers name theirs (Linux exposes the names under /proc).
    private static int ProducerThreads() =>
        Directory.GetDirectories("/proc/self/task").Count(t =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(t, "comm")).StartsWith("t2n prefetch", StringComparison.Ordinal);
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
