using TorchToNnef.Export.Compression;
using TorchToNnef.Ir;
using TorchToNnef.Quant;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Tests.Compression;

public class GraphCompressorTests
{
    private static CompressionMethod Method(string key) => CompressionRegistry.Default.Get(key);

    private static TensorSource Weight(DType dtype, params int[] shape)
    {
        var s = Shape.Of(shape);
        var rng = new Random(shape.Sum());
        float[] values = [.. Enumerable.Range(0, (int)s.ElementCount).Select(_ => (float)(rng.NextDouble() - 0.5))];
        Tensor t = dtype == DType.F16
            ? Tensor.FromSpan(DType.F16, s, values.Select(v => (Half)v).ToArray().AsSpan())
            : Tensor.FromFloats(s, values);
        return TensorSource.FromTensor(t);
    }

    /// <summary>ids -> gather(table) -> linear(., table) : a tied embedding / lm_head.</summary>
    private static Graph Tied(DType dtype = DType.F32)
    {
        var g = new Graph();
        g.AddInput("ids", DType.I64, [Dim.Of(1), Dim.Of(4)]);
        g.AddVariable("table", "emb.weight", Weight(dtype, 64, 32));
        g.Nodes.Add(new Node("tract_core_gather", "h").With(Arg.Ref("table")).With(Arg.Ref("ids")).With("axis", Arg.Int(0)));
        g.Nodes.Add(new Node("unsqueeze", "table_aligned").With(Arg.Ref("table")).With("axes", Arg.Ints(0)));
        g.Nodes.Add(new Node("linear", "logits").With(Arg.Ref("h")).With(Arg.Ref("table_aligned")).With(Arg.Float(0)));
        g.Outputs.Add("logits");
        return g;
    }

    [Fact]
    public void ASharedWeightIsQuantizedOnceAndTheGatherGetsItsDatumType()
    {
        CompressionResult r = GraphCompressor.Compress(Tied(DType.F16), Method("min_max_q4_0_with_embeddings"));
        QuantizedWeight q = Assert.Single(r.Quantized);
        Assert.Equal([WeightKind.Linear, WeightKind.Embedding], q.Kinds);
        Assert.Equal(64 * 32 * 2, q.FloatBytes);
        Assert.Equal(64 * 18, q.QuantizedBytes);
        Assert.Equal(DType.Q40, r.Graph.Variables["table"].DType);
        Assert.Null(r.Graph.FindProducer("table")!.Generic);
        Assert.Equal(Arg.String("f16"), r.Graph.FindProducer("h")!.GetAttribute("datum_type"));
        Assert.Empty(r.Skipped);
    }

    [Fact]
    public void ASharedWeightWithAnUnselectedUseStaysFloatWithAWarning()
    {
        CompressionResult r = GraphCompressor.Compress(Tied(), Method("min_max_q4_0"));
        Assert.Empty(r.Quantized);
        SkippedWeight s = Assert.Single(r.Skipped);
        Assert.Equal("emb.weight", s.Label);
        Assert.Contains("Embedding", s.Reason);
        Assert.Equal(DType.F32, r.Graph.Variables["table"].DType);
        Assert.Null(r.Graph.FindProducer("h")!.GetAttribute("datum_type"));
    }

    [Fact]
    public void AWeightAlsoReadByAnotherOperatorStaysFloat()
    {
        Graph g = Tied();
        g.Nodes.Add(new Node("add", "z").With(Arg.Ref("table")).With(Arg.Float(1)));
        g.Outputs.Add("z");
        CompressionResult r = GraphCompressor.Compress(g, Method("min_max_q4_0_with_embeddings"));
        Assert.Empty(r.Quantized);
        Assert.Contains("'add'", Assert.Single(r.Skipped).Reason);
    }

    [Fact]
    public void MatmulEinsumAndConvWeightsAreRecognised()
    {
        var g = new Graph();
        g.AddInput("x", DType.F32, [Dim.Of(1), Dim.Of(2), Dim.Of(32)]);
        g.AddVariable("a", "a", Weight(DType.F32, 8, 32));
        g.AddVariable("b", "b", Weight(DType.F32, 8, 32));
        g.AddVariable("c", "c", Weight(DType.F32, 32, 8));
        g.AddVariable("k1", "k1", Weight(DType.F32, 4, 8, 4));
        g.AddVariable("k2", "k2", Weight(DType.F32, 4, 8, 2, 2));
        g.AddVariable("bias", "bias", Weight(DType.F32, 4));
        g.Nodes.Add(new Node("matmul", "m1").With(Arg.Ref("x")).With(Arg.Ref("a")).With("transposeA", Arg.Bool(false)).With("transposeB", Arg.Bool(true)));
        g.Nodes.Add(new Node("tract_core_einsum", "m2").With(Arg.Array(Arg.Ref("x"), Arg.Ref("b"))).With("expr", Arg.String("bij,kj->bik")).With("acc", Arg.String("f32")));
        g.Nodes.Add(new Node("matmul", "m3").With(Arg.Ref("x")).With(Arg.Ref("c")).With("transposeA", Arg.Bool(false)).With("transposeB", Arg.Bool(false)));
        g.Nodes.Add(new Node("conv", "c1").With(Arg.Ref("x")).With(Arg.Ref("k1")).With(Arg.Ref("bias")));
        g.Nodes.Add(new Node("conv", "c2").With(Arg.Ref("x")).With(Arg.Ref("k2")).With(Arg.Ref("bias")));
        g.Outputs.AddRange(["m1", "m2", "m3", "c1", "c2"]);

        CompressionResult all = GraphCompressor.Compress(g, Method("min_max_q4_0_all"));
        Assert.Equal(["a", "b", "k1", "k2"], all.Quantized.Select(q => q.Label).Order());
        Assert.Equal([WeightKind.Conv1d], all.Quantized.Single(q => q.Label == "k1").Kinds);
        Assert.Equal([WeightKind.Conv2d], all.Quantized.Single(q => q.Label == "k2").Kinds);
        Assert.Equal(DType.Q40, all.Graph.Variables["a"].DType);
        Assert.Equal(DType.F32, all.Graph.Variables["c"].DType);
        Assert.Equal(DType.F32, all.Graph.Variables["bias"].DType);
        Assert.Empty(all.Skipped);

        CompressionResult linear = GraphCompressor.Compress(g, Method("min_max_q4_0"));
        Assert.Equal(["a", "b"], linear.Quantized.Select(q => q.Label).Order());
        Assert.Empty(linear.Skipped);
    }

    [Fact]
    public void TheQuantizedDataIsTheQuantizersOutput()
    {
        Graph g = Tied();
        CompressionResult r = GraphCompressor.Compress(g, Method("min_max_q4_0_with_embeddings"));
        using Tensor floats = g.Variables["table"].Source.Open();
        using Tensor expected = Q40Quantizer.Quantize(floats);
        using Tensor actual = r.Graph.Variables["table"].Source.Open();
        Assert.Equal(expected.Bytes.ToArray(), actual.Bytes.ToArray());
        using var ms = new MemoryStream();
        r.Graph.Variables["table"].Source.WriteTo(ms);
        Assert.Equal(expected.Bytes.ToArray(), ms.ToArray());
    }

    [Fact]
    public void IneligibleShapesAreReportedAndLeftFloat()
    {
        var g = new Graph();
        g.AddInput("x", DType.F32, [Dim.Of(1), Dim.Of(48)]);
        g.AddVariable("w", "fc.weight", Weight(DType.F32, 2, 48));
        g.Nodes.Add(new Node("linear", "y").With(Arg.Ref("x")).With(Arg.Ref("w")).With(Arg.Float(0)));
        g.Outputs.Add("y");
        CompressionResult r = GraphCompressor.Compress(g, Method("min_max_q4_0"));
        Assert.Empty(r.Quantized);
        Assert.Contains("multiple of 32", Assert.Single(r.Skipped).Reason);
    }
}
