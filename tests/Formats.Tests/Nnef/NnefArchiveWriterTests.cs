using System.Formats.Tar;
using System.IO.Compression;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.IO;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

/// <summary>
/// An archive whose weights are written before its graph exists: it holds the members the one-call writer makes,
/// weights first, then the graph's own constants, graph.nnef last; the members really are written before the graph is
/// given; started members the graph does not hold are refused; a failure, a cancellation or a dispose leaves nothing
/// and no thread running.
/// </summary>
public class NnefArchiveWriterTests
{
    private const int Chunk = 1 << 20;

    // Payload sizes in floats: empty, tiny, around the producers' 1 MiB chunk, several chunks.
    private static readonly int[] Sizes = [0, 3, (Chunk / 4) - 1, Chunk / 4, (3 * Chunk / 4) + 5, 17, 2 * Chunk];

    [Theory]
    [InlineData(1, NnefArchiveFormat.Tgz)]
    [InlineData(2, NnefArchiveFormat.Tgz)]
    [InlineData(3, NnefArchiveFormat.Tgz)]
    [InlineData(2, NnefArchiveFormat.Tar)]
    public void TheArchiveHoldsTheMembersOfTheOneCallWriterWeightsFirstGraphLast(int threads, NnefArchiveFormat format)
    {
        using var temp = new TempDir();
        RecordingSource[] weights = [.. Sizes.Select((n, i) => new RecordingSource(n, seed: i))];
        NnefWriteOptions options = new() { Format = format, MaxDegreeOfParallelism = threads, FlushToDisk = false };

        // Without a constant of the graph's own, the member order is the same: the same bytes.
        string plain = temp.File("plain.nnef.tgz");
        Write(BuildGraph(weights, constantFirst: false), plain, options);
        string early = temp.File("early.nnef.tgz");
        WriteEarly(weights, BuildGraph(weights, constantFirst: false), early, options);
        Assert.Equal(File.ReadAllBytes(plain), File.ReadAllBytes(early));
        string[] names = [.. Sizes.Select((_, i) => $"w{i}.dat"), "graph.nnef"];
        Assert.Equal(names, Members(early).Select(m => m.Name));

        // A constant the graph adds (first in graph order) comes after the started weights, graph.nnef after it.
        string plainC = temp.File("plain-c.nnef.tgz");
        Write(BuildGraph(weights, constantFirst: true), plainC, options);
        string earlyC = temp.File("early-c.nnef.tgz");
        WriteEarly(weights, BuildGraph(weights, constantFirst: true), earlyC, options);
        List<(string Name, byte[] Data)> reference = Members(plainC);
        List<(string Name, byte[] Data)> members = Members(earlyC);
        Assert.Equal(["c.dat", .. names], reference.Select(m => m.Name));
        Assert.Equal([.. names[..^1], "c.dat", "graph.nnef"], members.Select(m => m.Name));
        Assert.Equal(reference.OrderBy(m => m.Name, StringComparer.Ordinal).Select(m => m.Data), members.OrderBy(m => m.Name, StringComparer.Ordinal).Select(m => m.Data));
        Assert.All(weights, w => Assert.Equal(4, w.Runs));

        Graph back = NnefArchive.Read(earlyC);
        Assert.Equal(Sizes.Length + 1, back.Variables.Count);
        using Tensor c = back.Variables["c"].Source.Open();
        Assert.Equal([1.5f, -2f], c.AsSpan<float>().ToArray());
    }

    // With one thread nothing runs beside the caller, so only from two threads on.
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void TheWeightsAreStoredBeforeTheGraphIsGiven(int threads)
    {
        using var temp = new TempDir();
        RecordingSource[] weights = [.. Enumerable.Range(0, 4).Select(i => new RecordingSource(Chunk, seed: i))];
        NnefWriteOptions options = new() { Format = NnefArchiveFormat.Tgz, MaxDegreeOfParallelism = threads, FlushToDisk = false };
        using var transaction = new OutputTransaction(new OutputOptions());
        string path = temp.File("a.nnef.tgz");
        OutputTarget target = NnefArchive.DeclareOutput(transaction, path, options.Format);
        using NnefArchiveWriter writer = NnefArchiveWriter.Start(target.CreateFile(), Pairs(weights), options);

        // No graph yet: the archive file grows past the first three weights (4 MiB each) anyway.
        string file = Directory.GetFiles(temp.Path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Single();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (new FileInfo(file).Length < 3L * 4 * Chunk && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            Thread.Sleep(10);
        }

        Assert.True(new FileInfo(file).Length >= 3L * 4 * Chunk, $"only {new FileInfo(file).Length} bytes written before the graph was given");
        writer.Finish(BuildGraph(weights, constantFirst: false));
        transaction.Commit();
        Assert.All(weights, w => Assert.Equal(1, w.Runs));
        Assert.Equal(4, NnefArchive.Read(path).Variables.Count);
    }

    [Fact]
    public void StartedMembersTheGraphDoesNotHoldAreRefusedAndNothingIsLeft()
    {
        using var temp = new TempDir();
        RecordingSource[] weights = [.. Sizes.Select((n, i) => new RecordingSource(n, seed: i))];
        NnefWriteOptions options = new() { Format = NnefArchiveFormat.Tgz, MaxDegreeOfParallelism = 2, FlushToDisk = false };
        string path = temp.File("a.nnef.tgz");

        // A weight the graph does not hold.
        var e = Assert.Throws<ArgumentException>(() => WriteEarly([.. weights, new RecordingSource(4, seed: 99)], BuildGraph(weights, constantFirst: false), path, options));
        Assert.Contains("Started member 7 of 8 (w7.dat): the graph has no variable with this label", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));

        // The graph's variable of that label holds another source.
        KeyValuePair<string, TensorSource>[] swapped = [.. Pairs(weights)];
        (swapped[0], swapped[1]) = (KeyValuePair.Create("w0", swapped[1].Value), KeyValuePair.Create("w1", swapped[0].Value));
        e = Assert.Throws<ArgumentException>(() => WriteEarly(swapped, BuildGraph(weights, constantFirst: false), path, options));
        Assert.Contains("Started member 0 of 7 (w0.dat): the graph's variable with this label holds another source", e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void EachWeightIsListedOnceAndTheArchiveIsFinishedOnce()
    {
        using var temp = new TempDir();
        RecordingSource[] weights = [.. Sizes.Select((n, i) => new RecordingSource(n, seed: i))];
        NnefWriteOptions options = new() { Format = NnefArchiveFormat.Tgz, MaxDegreeOfParallelism = 2, FlushToDisk = false };
        Assert.Throws<ArgumentException>(() => WriteEarly([weights[0], weights[1], weights[0]], BuildGraph(weights, constantFirst: false), temp.File("a.nnef.tgz"), options));
        Assert.Throws<ArgumentException>(() => WriteEarly([KeyValuePair.Create("w0", (TensorSource)weights[0]), KeyValuePair.Create("w0", (TensorSource)weights[1])], BuildGraph(weights, constantFirst: false), temp.File("a.nnef.tgz"), options));
        Assert.Throws<ArgumentException>(() => WriteEarly(weights, BuildGraph(weights, constantFirst: false), temp.File("a.nnef.tgz"), options with { Format = NnefArchiveFormat.Directory }));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));

        using var transaction = new OutputTransaction(new OutputOptions());
        OutputTarget target = NnefArchive.DeclareOutput(transaction, temp.File("b.nnef.tgz"), options.Format);
        NnefArchiveWriter writer = NnefArchiveWriter.Start(target.CreateFile(), Pairs(weights), options);
        writer.Finish(BuildGraph(weights, constantFirst: false));
        Assert.ThrowsAny<InvalidOperationException>(() => writer.Finish(BuildGraph(weights, constantFirst: false)));
        transaction.Commit();
        Assert.Equal(Sizes.Length, NnefArchive.Read(temp.File("b.nnef.tgz")).Variables.Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void DisposingWithoutAGraphStopsEverythingAndLeavesNothing(int threads)
    {
        using var temp = new TempDir();
        RecordingSource[] weights = [.. Enumerable.Range(0, 6).Select(i => new RecordingSource(8 * Chunk, seed: i))];
        using (var transaction = new OutputTransaction(new OutputOptions()))
        {
            OutputTarget target = NnefArchive.DeclareOutput(transaction, temp.File("a.nnef.tgz"), NnefArchiveFormat.Tgz);
            NnefArchiveWriter writer = NnefArchiveWriter.Start(target.CreateFile(), Pairs(weights), new NnefWriteOptions { MaxDegreeOfParallelism = threads, FlushToDisk = false });
            if (threads > 1)
            {
                Assert.True(weights[0].Started.Wait(TimeSpan.FromSeconds(30)));
            }
            else
            {
                // One thread: nothing runs beside the caller, so nothing is produced before Finish.
                Thread.Sleep(100);
                Assert.All(weights, w => Assert.Equal(0, w.Runs));
            }

            writer.Dispose();
            Assert.All(weights, w => Assert.Equal(0, w.Active));
            int runs = weights.Sum(w => w.Runs);
            Thread.Sleep(100);
            Assert.Equal(runs, weights.Sum(w => w.Runs)); // nothing goes on after Dispose
        }

        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void CancellingStopsTheWriteAndLeavesNothing(int threads)
    {
        using var temp = new TempDir();
        using var cts = new CancellationTokenSource();
        RecordingSource[] weights = [.. Enumerable.Range(0, 6).Select(i => new RecordingSource(8 * Chunk, seed: i))];
        NnefWriteOptions options = new() { Format = NnefArchiveFormat.Tgz, MaxDegreeOfParallelism = threads, FlushToDisk = false };
        using (var transaction = new OutputTransaction(new OutputOptions()))
        {
            OutputTarget target = NnefArchive.DeclareOutput(transaction, temp.File("a.nnef.tgz"), options.Format);
            using NnefArchiveWriter writer = NnefArchiveWriter.Start(target.CreateFile(), Pairs(weights), options, cts.Token);
            cts.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => writer.Finish(BuildGraph(weights, constantFirst: false)));
        }

        Assert.All(weights, w => Assert.Equal(0, w.Active));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void AWeightThatFailsFailsTheFinishNamingItsMember(int threads)
    {
        using var temp = new TempDir();
        RecordingSource[] weights = [.. Enumerable.Range(0, 4).Select(i => new RecordingSource(Chunk, seed: i, failAfterBytes: i == 2 ? 12345 : -1))];
        NnefWriteOptions options = new() { Format = NnefArchiveFormat.Tgz, MaxDegreeOfParallelism = threads, FlushToDisk = false };
        var e = Assert.Throws<InvalidDataException>(() => WriteEarly(weights, BuildGraph(weights, constantFirst: false), temp.File("a.nnef.tgz"), options));
        Assert.Contains("w2.dat", e.Message, StringComparison.Ordinal);
        Assert.All(weights, w => Assert.Equal(0, w.Active));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    private static KeyValuePair<string, TensorSource>[] Pairs(RecordingSource[] weights) =>
        [.. weights.Select((w, i) => KeyValuePair.Create($"w{i}", (TensorSource)w))];

    // The tar inside (decoded when gzip, which checks the trailer's CRC-32 and length), member by member.
    private static List<(string Name, byte[] Data)> Members(string path)
    {
        using FileStream file = File.OpenRead(path);
        bool gzip = file.ReadByte() == 0x1f;
        file.Position = 0;
        using Stream content = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var tar = new TarReader(content);
        var members = new List<(string, byte[])>();
        while (tar.GetNextEntry() is TarEntry entry)
        {
            var data = new MemoryStream();
            entry.DataStream?.CopyTo(data);
            members.Add((entry.Name, data.ToArray()));
        }

        return members;
    }

    // One archive written through an output transaction, committed only when the write returns.
    private static void Write(Graph graph, string path, NnefWriteOptions options)
    {
        using var transaction = new OutputTransaction(new OutputOptions());
        OutputTarget target = NnefArchive.DeclareOutput(transaction, path, options.Format);
        NnefArchive.WriteArchive(graph, target.CreateFile(), options);
        transaction.Commit();
    }

    private static void WriteEarly(RecordingSource[] weights, Graph graph, string path, NnefWriteOptions options) =>
        WriteEarly(Pairs(weights), graph, path, options);

    private static void WriteEarly(IReadOnlyList<KeyValuePair<string, TensorSource>> weights, Graph graph, string path, NnefWriteOptions options)
    {
        using var transaction = new OutputTransaction(new OutputOptions());
        OutputTarget target = NnefArchive.DeclareOutput(transaction, path, NnefArchiveFormat.Tgz);
        using (NnefArchiveWriter writer = NnefArchiveWriter.Start(target.CreateFile(), weights, options))
        {
            writer.Finish(graph);
        }

        transaction.Commit();
    }

    // y = x + (c or x), with the weights as variables w0, w1... in their order (the writer stores every variable);
    // optionally a small constant variable first.
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

    /// <summary>
    /// n f32 values of seeded random bytes; counts its runs and the calls in progress, signals its first start;
    /// optionally throws <see cref="InvalidDataException"/> after some bytes (a source that turns out malformed).
    /// </summary>
    private sealed class RecordingSource(int n, int seed, long failAfterBytes = -1) : TensorSource
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
                long written = 0;
                for (long left = 4L * n; left > 0;)
                {
                    int k = (int)Math.Min(left, piece.Length);
                    rng.NextBytes(piece.AsSpan(0, k));
                    destination.Write(piece, 0, k);
                    left -= k;
                    written += k;
                    if (failAfterBytes >= 0 && written >= failAfterBytes)
                    {
                        throw new InvalidDataException("the source turned out malformed");
                    }
                }
            }
            finally
            {
                Interlocked.Decrement(ref _active);
            }
        }
    }
}
