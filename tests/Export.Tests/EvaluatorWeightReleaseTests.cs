using System.Runtime.CompilerServices;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Quant;
using TorchToNnef.Tensors;
using static TorchToNnef.Export.Tests.GraphFixture;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// <see cref="EvaluationOptions.ReleaseWeightsAfterUse"/>: every run re-reads each weight and drops it after its last
/// consumer, so a run holds only the weights alive at once and the evaluator none between runs — with the same bits as
/// an evaluator that keeps them.
/// </summary>
public class EvaluatorWeightReleaseTests
{
    private const int Layers = 6;
    private const int Width = 64;

    [Fact]
    public void ARunHoldsOnlyTheWeightsAliveAtOnceAndReadsThemAgainNextRun()
    {
        int[] opens = new int[Layers];
        Graph graph = LayeredGraph(opens);
        float[] x = Enumerable.Range(0, 2 * Width).Select(i => ((i % 9) - 4) * 0.25f).ToArray();

        var keeping = new GraphEvaluator(graph);
        float[] kept = Run(keeping, x);
        Assert.Equal(kept, Run(keeping, x));
        Assert.All(opens, n => Assert.Equal(1, n));
        Assert.Equal(Layers, keeping.KeptWeights);

        Array.Clear(opens);
        var releasing = new GraphEvaluator(graph, new EvaluationOptions { ReleaseWeightsAfterUse = true });
        const int runs = 3;
        for (int r = 0; r < runs; r++)
        {
            // Bit for bit what the keeping evaluator computes (Q4_0 panels and f32 weights alike).
            Assert.Equal(kept, Run(releasing, x));
        }

        // Each run opened every weight once (w0 too, read by two statements: one opening serves both) ...
        Assert.All(opens, n => Assert.Equal(runs, n));
        Assert.Equal(0, releasing.KeptWeights);
        (int opened, int released, int peak) = releasing.ReleasedWeightCounts;
        Assert.Equal(runs * Layers, opened);

        // ... and released each after its last use: while layer i runs, only w0 (read again by the last statement)
        // and w_i are held, never the layers before or after.
        Assert.Equal(runs * Layers, released);
        Assert.Equal(2, peak);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(10)]
    public void ReleasedPanelsAreReusedSoRunsAllocateOnlyThePanelsAliveAtOnce(int layers)
    {
        Graph graph = LayeredGraph(new int[layers], layers);
        float[] x = Enumerable.Range(0, 2 * Width).Select(i => ((i % 7) - 3) * 0.5f).ToArray();
        float[] kept = Run(new GraphEvaluator(graph), x);
        var releasing = new GraphEvaluator(graph, new EvaluationOptions { ReleaseWeightsAfterUse = true });
        for (int r = 0; r < 3; r++)
        {
            // Panels laid in storage another weight released give the same bits.
            Assert.Equal(kept, Run(releasing, x));
        }

        // The Q4_0 weights stay in their files and each product lays the panels of its weight (here one block: the
        // whole 64 x 64 matrix) and gives them back when it is done, so one matrix's panels are all the storage the
        // three runs allocated, whatever the number of layers (w0, read by two products, lays them twice), and it is
        // all free again after the last run.
        long oneWeight = PanelBytes(Width, Width);
        Assert.Equal((oneWeight, oneWeight), releasing.PanelStorageBytes);
    }

    [Theory]
    [InlineData(64, 1, "f32")]
    [InlineData(1000, 1, "f32")]
    [InlineData(1000, 3, "f32")]
    [InlineData(1000, 1, "f16")]
    [InlineData(1000, 3, "f16")]
    public void AnEmbeddingAndAnOutputHeadAreReadFromTheirFilesWithoutLayingTheWholeMatrix(int vocab, int tokens, string dt)
    {
        // ids -> gather(embedding [vocab, Width], Q4_0) -> linear with the output head [vocab, Width] (Q4_0), as a decoder's
        // two vocabulary-sized matrices; f32 or f16 (the f16 product rounds each decoded weight).
        var g = new GraphFixture().Input("ids", DType.I64, tokens);
        foreach ((string name, int seed) in new[] { ("embedding", 3), ("head", 5) })
        {
            float[] values = Enumerable.Range(0, vocab * Width).Select(k => (((k * seed) % 17) - 8) * 0.0625f + (k % 5) * 0.001f).ToArray();
            var shape = new Shape(vocab, Width);
            g.Graph.AddVariable(name, name, new Q40TensorSource(TensorSource.FromTensor(Tensor.FromFloats(shape, values)), name));
        }

        g.Op("x", "tract_core_gather", R("embedding"), R("ids")).With("axis", I(0)).With("datum_type", Arg.String(dt));
        g.Op("logits", "linear", R("x"), R("head"));
        g.Output("x", "logits");
        long[] ids = Enumerable.Range(0, tokens).Select(t => (long)((t * 397) + 11) % vocab).ToArray();
        NamedTensor[] input = [new("ids", TensorValue.Create(DatumType.I64, [tokens], ids))];
        float[][] kept = Bits(new GraphEvaluator(g.Graph).Run(input));

        // One panel of 16 rows per block: every product of the head takes vocab / 16 blocks.
        var streaming = new GraphEvaluator(g.Graph, new EvaluationOptions { ReleaseWeightsAfterUse = true, StreamedWeightBlockBytes = 1 });
        for (int r = 0; r < 2; r++)
        {
            float[][] got = Bits(streaming.Run(input));
            Assert.Equal(kept[0], got[0]); // the gathered rows, read from the file
            Assert.Equal(kept[1], got[1]); // the product, a block of rows at a time
        }

        // The gather laid no panels, the product one block of 16 rows at a time (the last, shorter block has the same
        // storage size): the storage allocated is one block's, whatever the vocabulary (laid whole: vocab / 16 times it).
        long block = PanelBytes(16, Width);
        Assert.Equal((block, block), streaming.PanelStorageBytes);
    }

    [Theory]
    [InlineData(true, false, false)]
    [InlineData(true, true, false)]
    [InlineData(false, false, false)]
    [InlineData(false, false, true)]
    public void AWeightInItsFileReadOtherwiseThanByWholeRowsIsLaidWholeWithTheSameBits(bool weightFirst, bool transposeWeight, bool transposeOther)
    {
        // matmul with a Q4_0 weight [96, 64] as the left operand, or as the right one read by columns: no product can
        // take it a block of rows at a time, so it is laid whole (as before weights could stay in their files).
        const int Rows = 96;
        float[] values = Enumerable.Range(0, Rows * Width).Select(k => (((k * 7) % 13) - 6) * 0.125f).ToArray();
        var shape = new Shape(Rows, Width);
        // The summed length: the weight's columns, or its rows when it is read transposed as A or plain as B.
        int k = weightFirst == transposeWeight ? Rows : Width;
        int[] otherShape = weightFirst == transposeOther ? [3, k] : [k, 3];
        var g = new GraphFixture().Input("x", DType.F32, otherShape[0], otherShape[1]);
        g.Graph.AddVariable("w", "w", new Q40TensorSource(TensorSource.FromTensor(Tensor.FromFloats(shape, values)), "w"));
        (string a, string b, bool ta, bool tb) = weightFirst ? ("w", "x", transposeWeight, transposeOther) : ("x", "w", transposeOther, transposeWeight);
        g.Op("y", "matmul", R(a), R(b)).With("transposeA", Arg.Bool(ta)).With("transposeB", Arg.Bool(tb));
        g.Output("y");
        float[] x = Enumerable.Range(0, otherShape[0] * otherShape[1]).Select(i => ((i % 9) - 4) * 0.25f).ToArray();
        NamedTensor[] input = [F32("x", x, otherShape)];
        float[][] kept = Bits(new GraphEvaluator(g.Graph).Run(input));
        var streaming = new GraphEvaluator(g.Graph, new EvaluationOptions { ReleaseWeightsAfterUse = true, StreamedWeightBlockBytes = 1 });
        Assert.Equal(kept[0], Bits(streaming.Run(input))[0]);
        Assert.Equal((PanelBytes(Rows, Width), PanelBytes(Rows, Width)), streaming.PanelStorageBytes);
    }

    private static float[][] Bits(IReadOnlyList<NamedTensor> outputs) =>
        [.. outputs.Select(o => Cast.To(o.Value, DatumType.F32).Span<float>().ToArray())];

    [Fact]
    public void AReleasedWeightReadAgainFailsInsteadOfReadingAnotherWeightsPanels()
    {
        float[] values = Enumerable.Range(0, Width * Width).Select(k => ((k % 13) - 6) * 0.25f).ToArray();
        var blocks = new BlockQuantData(Q40Quantizer.Quantize(Tensor.FromFloats(new Shape(Width, Width), values)).Bytes.ToArray());
        Assert.True(blocks.PreparePanels(Width));
        Assert.NotNull(blocks.ReleasePanels());
        Assert.Throws<InvalidOperationException>(() => blocks.DequantizeF32(0, new float[Width]));
        Assert.Throws<InvalidOperationException>(() => blocks.PreparePanels(Width));
    }

    // Codes (with 64 bytes of alignment slack) and scales of a Q4_0 matrix laid as panels of 16 rows.
    private static long PanelBytes(int rows, int columns)
    {
        long records = (rows + 15) / 16 * (columns / 32);
        return (records * 256) + 64 + (records * 16 * sizeof(ushort));
    }

    [Fact]
    public void TheEvaluatorKeepsNoWeightBetweenRuns()
    {
        Graph graph = LayeredGraph(new int[Layers]);
        float[] x = Enumerable.Range(0, 2 * Width).Select(i => (i % 5) - 2f).ToArray();
        Assert.Equal(0, LiveWeightsAfterARun(graph, x, release: true));
        Assert.Equal(Layers, LiveWeightsAfterARun(graph, x, release: false));
    }

    // Weights still reachable once a run is over and its outputs dropped (garbage collected): the evaluator's (it is
    // kept alive till the count), found through weak references to the values the run bound to the weights' names.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int LiveWeightsAfterARun(Graph graph, float[] x, bool release)
    {
        var weights = new List<WeakReference<TensorValue>>();
        var options = new EvaluationOptions
        {
            ReleaseWeightsAfterUse = release,
            ValueComputed = (path, value) =>
            {
                if (path.StartsWith('w'))
                {
                    weights.Add(new WeakReference<TensorValue>(value));
                }
            },
        };
        var evaluator = new GraphEvaluator(graph, options);
        RunAndDrop(evaluator, x);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        int live = weights.Count(w => w.TryGetTarget(out _));
        GC.KeepAlive(evaluator);
        Assert.Equal(Layers, weights.Count);
        return live;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RunAndDrop(GraphEvaluator evaluator, float[] x) => _ = Run(evaluator, x);

    private static float[] Run(GraphEvaluator evaluator, float[] x) =>
        evaluator.Run([F32("x", x, 2, Width)])[0].Value.Span<float>().ToArray();

    // x -> Layers linear layers (weight w_i declared right before its layer, as the LLM exporter writes them; Q4_0 for
    // even i, f32 for odd i), each scaled down; then a last linear reads w0 again (a tied weight, used at both ends).
    private static Graph LayeredGraph(int[] opens, int layers = Layers)
    {
        var g = new GraphFixture().Input("x", DType.F32, 2, Width);
        string previous = "x";
        for (int i = 0; i < layers; i++)
        {
            int layer = i;
            float[] values = Enumerable.Range(0, Width * Width).Select(k => (((k * (layer + 3)) % 11) - 5) * 0.125f).ToArray();
            var shape = new Shape(Width, Width);
            TensorSource floats = TensorSource.FromTensor(Tensor.FromFloats(shape, values));
            TensorSource stored = layer % 2 == 0 ? new Q40TensorSource(floats, $"w{layer}") : floats;
            g.Graph.AddVariable($"w{layer}", $"w{layer}", TensorSource.Computed(stored.DType, shape, () =>
            {
                opens[layer]++;
                return stored.Open();
            }));
            g.Op($"y{layer}", "linear", R(previous), R($"w{layer}"));
            g.Op($"n{layer}", "mul", R($"y{layer}"), F(1.0 / 16));
            previous = $"n{layer}";
        }

        g.Op("out", "linear", R(previous), R("w0"));
        g.Output("out");
        return g.Graph;
    }
}
