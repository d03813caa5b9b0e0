using TorchToNnef.Formats.Nnef;
using TorchToNnef.IO;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

/// <summary>
/// Payload producers started before the graph is complete: the archive is the one the writer makes on its own, the
/// producers really run before the write, a set that does not follow the member order is refused before anything is
/// written, and disposing or cancelling stops them.
/// </summary>
public class NnefPayloadProducersTests
{
    private const int Chunk = 1 << 20;

    // Payload sizes in floats: empty, tiny, around the producers' 1 MiB chunk, several chunks.
    private static readonly int[] Sizes = [0, 3, (Chunk / 4) - 1, Chunk / 4, (3 * Chunk / 4) + 5, 17, 2 * Chunk];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void TheArchiveIsTheOneWrittenWithoutThem(int threads)
    {
        using var temp = new TempDir();
        RecordingSource[] weights = [.. Sizes.Select((n, i) => new RecordingSource(n, seed: i))];
        NnefWriteOptions options = new() { Format = NnefArchiveFormat.Tgz, MaxDegreeOfParallelism = threads, FlushToDisk = false };

        // The reference: one thread, no producers: each source written straight into the archive.
        string reference = temp.File("reference.nnef.tgz");
        Write(BuildGraph(weights, constantFirst: true), reference, options with { MaxDegreeOfParallelism = 1 }, null);
        string plain = temp.File("plain.nnef.tgz");
        Write(BuildGraph(weights, constantFirst: true), plain, options, null);

        // Started before the graph exists, as an exporter does; the graph adds a constant of its own (not started),
        // which the writer produces itself between them.
        string early = temp.File("early.nnef.tgz");
        using (NnefPayloadProducers producers = NnefPayloadProducers.Start(weights, options))
        {
            Assert.Equal(threads > 1, producers.Running);
            Graph graph = BuildGraph(weights, constantFirst: true);
            Write(graph, early, options, producers);
        }

        // Same threads, same bytes. Across thread counts the tar inside is the same; the stored blocks' boundaries follow
        // the writes (producers hand over 1 MiB chunks, a source written directly its own pieces). Decoding checks the
        // gzip trailer's CRC-32 and length.
        Assert.Equal(File.ReadAllBytes(plain), File.ReadAllBytes(early));
        byte[] tar = Decode(reference);
        Assert.Equal(tar, Decode(plain));
        Assert.Equal(tar, Decode(early));
        Assert.Equal(Sizes.Length + 1, NnefArchive.Read(early).Variables.Count);
    }

    [Fact]
    public void TheyProduceBeforeTheWriterIsCalled()
    {
        using var temp = new TempDir();
        RecordingSource[] weights = [.. Sizes.Select((n, i) => new RecordingSource(n, seed: i))];
        NnefWriteOptions options = new() { Format = NnefArchiveFormat.Tgz, MaxDegreeOfParallelism = 2, FlushToDisk = false };
        using NnefPayloadProducers producers = NnefPayloadProducers.Start(weights, options);

        // No writer yet: the first sources are produced anyway (the one-thread writer would start them only when called).
        Assert.True(weights[0].Started.Wait(TimeSpan.FromSeconds(30)), "source 0 was not started before the write");
        Assert.True(weights[1].Started.Wait(TimeSpan.FromSeconds(30)), "source 1 was not started before the write");
        Write(BuildGraph(weights, constantFirst: false), temp.File("a.nnef.tgz"), options, producers);
        Assert.All(weights, w => Assert.Equal(1, w.Runs));
    }

    [Fact]
    public void ProducersInAnotherOrderThanTheMembersAreRefusedAndNothingIsLeft()
    {
        using var temp = new TempDir();
        RecordingSource[] weights = [.. Sizes.Select((n, i) => new RecordingSource(n, seed: i))];
        NnefWriteOptions options = new() { Format = NnefArchiveFormat.Tgz, MaxDegreeOfParallelism = 2, FlushToDisk = false };
        RecordingSource[] swapped = [weights[1], weights[0], .. weights[2..]];
        string path = temp.File("a.nnef.tgz");
        using (NnefPayloadProducers producers = NnefPayloadProducers.Start(swapped, options))
        {
            var e = Assert.Throws<ArgumentException>(() => Write(BuildGraph(weights, constantFirst: false), path, options, producers));
            Assert.Contains("started source 1 of 7 is the payload of member 0", e.Message, StringComparison.Ordinal);
        }

        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void ASourceTheGraphDoesNotHoldIsRefused()
    {
        using var temp = new TempDir();
        RecordingSource[] weights = [.. Sizes.Select((n, i) => new RecordingSource(n, seed: i))];
        NnefWriteOptions options = new() { Format = NnefArchiveFormat.Tgz, MaxDegreeOfParallelism = 2, FlushToDisk = false };
        using NnefPayloadProducers producers = NnefPayloadProducers.Start([.. weights, new RecordingSource(4, seed: 99)], options);
        var e = Assert.Throws<ArgumentException>(() => Write(BuildGraph(weights, constantFirst: false), temp.File("a.nnef.tgz"), options, producers));
        Assert.Contains("started source 7 of 8 is not the payload of any member", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void TheyAreWrittenOnceAndListEachSourceOnce()
    {
        using var temp = new TempDir();
        RecordingSource[] weights = [.. Sizes.Select((n, i) => new RecordingSource(n, seed: i))];
        NnefWriteOptions options = new() { Format = NnefArchiveFormat.Tgz, MaxDegreeOfParallelism = 2, FlushToDisk = false };
        Assert.Throws<ArgumentException>(() => NnefPayloadProducers.Start([weights[0], weights[1], weights[0]], options));

        using NnefPayloadProducers producers = NnefPayloadProducers.Start(weights, options);
        Write(BuildGraph(weights, constantFirst: false), temp.File("a.nnef.tgz"), options, producers);
        Assert.Throws<InvalidOperationException>(() => Write(BuildGraph(weights, constantFirst: false), temp.File("b.nnef.tgz"), options, producers));
        Assert.False(File.Exists(temp.File("b.nnef.tgz")));
    }

    [Fact]
    public void DisposingStopsProducersThatNobodyConsumes()
    {
        // Large payloads fill the bounded pipes, so the workers wait inside WriteTo; disposing must end those calls.
        RecordingSource[] weights = [.. Enumerable.Range(0, 6).Select(i => new RecordingSource(8 * Chunk, seed: i))];
        NnefPayloadProducers producers = NnefPayloadProducers.Start(weights, new NnefWriteOptions { MaxDegreeOfParallelism = 2 });
        Assert.True(weights[0].Started.Wait(TimeSpan.FromSeconds(30)));
        producers.Dispose();
        Assert.All(weights, w => Assert.Equal(0, w.Active));
        Assert.Contains(weights, w => w.Runs == 0); // bounded: not every source was started
    }

    [Fact]
    public void CancellingStopsTheWriteAndLeavesNothing()
    {
        using var temp = new TempDir();
        using var cts = new CancellationTokenSource();
        RecordingSource[] weights = [.. Enumerable.Range(0, 6).Select(i => new RecordingSource(8 * Chunk, seed: i))];
        NnefWriteOptions options = new() { Format = NnefArchiveFormat.Tgz, MaxDegreeOfParallelism = 2, FlushToDisk = false };
        using (NnefPayloadProducers producers = NnefPayloadProducers.Start(weights, options, cts.Token))
        {
            cts.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => Write(BuildGraph(weights, constantFirst: false), temp.File("a.nnef.tgz"), options, producers));
        }

        Assert.All(weights, w => Assert.Equal(0, w.Active));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    private static byte[] Decode(string gz)
    {
        using var decoder = new System.IO.Compression.GZipStream(File.OpenRead(gz), System.IO.Compression.CompressionMode.Decompress);
        var tar = new MemoryStream();
        decoder.CopyTo(tar);
        return tar.ToArray();
    }

    // One archive written through an output transaction, committed only when the write returns.
    private static void Write(Graph graph, string path, NnefWriteOptions options, NnefPayloadProducers? producers)
    {
        using var transaction = new OutputTransaction(new OutputOptions());
        OutputTarget target = NnefArchive.DeclareOutput(transaction, path, options.Format);
        NnefArchive.WriteArchive(graph, target.CreateFile(), options, producers);
        transaction.Commit();
    }

    // y = x + (c or x), with the weights as variables in their order (the writer stores every variable); optionally a
    // small constant variable first.
    private static Graph BuildGraph(RecordingSource[] weights, bool constantFirst)
    {
        var g = new Graph();
        g.Registries.Add("tract_core");
        g.AddInput("x", DType.F32, [Dim.Of(1)]);
        if (constantFirst)
        {
            g.AddVariable("c", "c", TensorSource.FromTensor(Tensor.FromFloats(Shape.Of(2), [1.5f, -2f])));
        }

        for (int i = 0; i < weights.Length; i++)
        {
            g.AddVariable($"w{i}", $"w{i}", weights[i]);
        }

        g.Nodes.Add(new Node("add", "y").With(Arg.Ref("x")).With(Arg.Ref(constantFirst ? "c" : "x")));
        g.Outputs.Add("y");
        return g;
    }

    /// <summary>n f32 values of seeded random bytes; counts its runs and the calls in progress, signals its first start.</summary>
    private sealed class RecordingSource(int n, int seed) : TensorSource
    {
        private int _runs;
        private int _active;

        public ManualResetEventSlim Started { get; } = new();

        public int Runs => Volatile.Read(ref _runs);

        public int Active => Volatile.Read(ref _active);

        public override DType DType => DType.F32;

        public override Shape Shape => Shape.Of(n);

        public override Tensor Open() => throw new NotSupportedException();

        public override void WriteTo(Stream destination)
        {
            Interlocked.Increment(ref _runs);
            Interlocked.Increment(ref _active);
            Started.Set();
            try
            {
                var rng = new Random(seed);
                byte[] piece = new byte[40_000];
                for (long left = 4L * n; left > 0;)
                {
                    int k = (int)Math.Min(left, piece.Length);
                    rng.NextBytes(piece.AsSpan(0, k));
                    destination.Write(piece, 0, k);
                    left -= k;
                }
            }
            finally
            {
                Interlocked.Decrement(ref _active);
            }
        }
    }
}
