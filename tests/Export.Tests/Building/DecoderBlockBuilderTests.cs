using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Export.Tests.Building;

/// <summary>
/// A small decoder block built in code with <see cref="GraphBuilder"/> (embedding gather, RMS norm, q/k/v/o linear
/// projections, a KV cache concatenated with the new keys and values, softmax attention by matmul), typed while it is
/// built, written to NNEF, read back unchanged, evaluated, and checked against the same block computed by hand.
/// </summary>
public sealed class DecoderBlockBuilderTests : IDisposable
{
    private const int Vocab = 10;
    private const int Hidden = 8;
    private const int Heads = 2;
    private const int HeadDim = 4;
    private const double Eps = 1e-6;

    private readonly List<Tensor> _owned = [];
    private readonly Random _random = new(1234);
    private readonly Dictionary<string, float[]> _weights = [];

    public void Dispose() => _owned.ForEach(t => t.Dispose());

    [Fact]
    public void ABlockBuiltInCodeRoundTripsEvaluatesAndMatchesAHandComputation()
    {
        Graph graph = BuildBlock(out Dictionary<string, TensorType> typed);

        // Every value was typed while building; symbolic dimensions follow the cache.
        Assert.Equal("F32[1, S, 8]", typed["embeds"].ToString());
        Assert.Equal("F32[1, 2, P+S, 4]", typed["out_cache_key"].ToString());
        Assert.Equal("F32[1, 2, S, P+S]", typed["attn"].ToString());
        Assert.Equal("F32[1, S, 8]", typed["hidden"].ToString());
        Assert.Equal(["tract_core"], graph.Registries);
        Assert.Equal(["S", "P"], graph.Symbols);

        using var tmp = new TempDir();
        NnefArchive.Write(graph, tmp.File("block"));
        Graph read = NnefArchive.Read(tmp.File("block"));
        GraphAssert.Equal(graph, read);
        GraphTypes readTypes = ShapeInference.Run(read);
        foreach ((string name, TensorType type) in typed)
        {
            Assert.Equal(type, readTypes[name]);
        }

        const int s = 3;
        const int p = 2;
        long[] ids = [4, 0, 9];
        float[] cacheK = Random(Heads * p * HeadDim);
        float[] cacheV = Random(Heads * p * HeadDim);
        NamedTensor[] inputs =
        [
            new("input_ids", TensorValue.Create(DatumType.I64, [1, s], ids)),
            new("in_cache_key", TensorValue.F32([1, Heads, p, HeadDim], cacheK)),
            new("in_cache_value", TensorValue.F32([1, Heads, p, HeadDim], cacheV)),
        ];
        (float[] hidden, float[] keys, float[] values) = Reference(ids, cacheK, cacheV, p);

        foreach (Graph g in new[] { graph, read })
        {
            IReadOnlyList<NamedTensor> outputs = new GraphEvaluator(g).Run(inputs);
            Assert.Equal(["hidden", "out_cache_key", "out_cache_value"], outputs.Select(o => o.Name));
            Assert.Equal([1, s, Hidden], outputs[0].Value.Shape.ToArray());
            Assert.Equal([1, Heads, p + s, HeadDim], outputs[1].Value.Shape.ToArray());
            Close(hidden, outputs[0].Value.Span<float>().ToArray());
            Close(keys, outputs[1].Value.Span<float>().ToArray());
            Close(values, outputs[2].Value.Span<float>().ToArray());
        }
    }

    [Fact]
    public void ShapeMistakesAreErrorsWhenBuiltNamingTheStatement()
    {
        var b = new GraphBuilder();
        Dim s = b.Symbol("S");
        GraphValue x = b.Input("x", DatumType.F32, 1, s, Hidden);
        GraphValue w = b.AlignRank(b.Variable("w", Source(Hidden + 1, Hidden + 1)), 3);
        int before = b.Graph.Nodes.Count;

        // linear with a filter of the wrong width: the matmul inside the stdlib fragment names both operands.
        var e = Assert.Throws<InvalidGraphException>(() => b.Linear(x, w, name: "proj"));
        Assert.StartsWith("proj (linear) > ", e.TensorName, StringComparison.Ordinal);
        Assert.Contains("(8 against 9)", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, b.Graph.Nodes.Count);

        // A KV cache with the wrong number of heads does not concatenate.
        GraphValue cache = b.Input("cache", DatumType.F32, 1, 3, b.Symbol("P"), HeadDim);
        GraphValue k = b.Transpose(b.Reshape(x, [1, s, Heads, HeadDim]), [0, 2, 1, 3]);
        e = Assert.Throws<InvalidGraphException>(() => b.Concat([cache, k], 2, name: "kv"));
        Assert.Equal("kv", e.TensorName);
        Assert.Contains("cannot concatenate", e.Message, StringComparison.Ordinal);

        // tract's left-aligned broadcasting of a rank-1 weight is refused by the helpers.
        GraphValue g = b.Variable("g", Source(Hidden));
        e = Assert.Throws<InvalidGraphException>(() => b.Mul(x, g));
        Assert.Contains("AlignRank", e.Message, StringComparison.Ordinal);
        Assert.Equal("F32[1, S, 8]", b.Mul(x, b.AlignRank(g, 3)).Type.ToString());

        // A symbolic dimension against a different one does not broadcast.
        GraphValue y = b.Input("y", DatumType.F32, 1, b.Symbol("T"), Hidden);
        e = Assert.Throws<InvalidGraphException>(() => b.Add(x, y, name: "sum"));
        Assert.Contains("S against T", e.Message, StringComparison.Ordinal);

        // Reshape checks the element count, with symbols.
        Assert.Throws<InvalidGraphException>(() => b.Reshape(x, [1, s, 3, 3]));
        Assert.Equal("F32[1, S, 2, 4]", b.Reshape(x, [1, -1, 2, 4]).Type.ToString());
        Assert.Equal("F32[1, S, 2, 4]", b.Reshape(x, [0, 0, 2, -1]).Type.ToString());
    }

    [Fact]
    public void OperatorsAreCheckedAgainstTheCatalog()
    {
        var b = new GraphBuilder();
        GraphValue x = b.Input("x", DatumType.F32, 2, 3);
        Assert.Throws<UnsupportedFeatureException>(() => b.Apply("frobnicate", [x]));
        Assert.Contains("has no parameter 'axis'", Assert.Throws<InvalidGraphException>(() => b.Apply("softmax", [x], [new("axis", Arg.Int(1))])).Message, StringComparison.Ordinal);
        Assert.Contains("needs argument 'axes'", Assert.Throws<InvalidGraphException>(() => b.Apply("transpose", [x])).Message, StringComparison.Ordinal);
        Assert.Contains("positionally", Assert.Throws<InvalidGraphException>(() => b.Apply("add", [x], [new("y", Arg.Float(1))])).Message, StringComparison.Ordinal);

        // Names are unique and derived from the operator or the hint.
        Assert.Equal("exp", b.Exp(x).Name);
        Assert.Equal("exp_1", b.Exp(x).Name);
        Assert.Equal("x_1", b.Neg(x, name: "x").Name);
        Assert.Equal("v2d", b.Neg(x, name: "2d").Name);

        // A transformer op activates its registry; results of multi-output operators are all typed.
        GraphValue r = b.Apply("tract_transformers_rms_norm", [x], [new("axis", Arg.Int(1))]);
        Assert.Equal(["tract_core", "tract_transformers"], b.Graph.Registries);
        Assert.Equal("F32[2, 3]", r.Type.ToString());
        IReadOnlyList<GraphValue> parts = b.Call("unstack", [x], [new("axis", Arg.Int(0))], results: 2);
        Assert.Equal(["F32[3]", "F32[3]"], parts.Select(v => v.Type.ToString()));
    }

    [Fact]
    public void FragmentsAreTypedWhenDefinedAndAtEveryCall()
    {
        var b = new GraphBuilder();
        Dim s = b.Symbol("S");
        b.DefineFragment("rms_norm_f", f =>
        {
            GraphValue input = f.Parameter("input", new TensorType(DatumType.F32, [1, s, Hidden]));
            Arg axes = f.Parameter("axes", ParameterKind.Integers, Arg.Ints(2));
            GraphValue mean = f.Apply("mean_reduce", [f.Mul(input, input)], [new("axes", axes)]);
            f.Result(f.Mul(input, f.Rsqrt(f.Add(mean, Arg.Float(Eps)))), "output");
        });
        GraphValue a = b.Input("a", DatumType.F32, 1, s, Hidden);
        GraphValue c = b.Input("c", DatumType.F16, 4, 5);
        GraphValue na = b.Apply("rms_norm_f", [a], [new("axes", Arg.Ints(2))]);
        GraphValue nc = b.Apply("rms_norm_f", [c, Arg.Ints(1)]);
        Assert.Equal("F32[1, S, 8]", na.Type.ToString());
        Assert.Equal("F16[4, 5]", nc.Type.ToString());
        Assert.Contains("outside rank 2", Assert.Throws<InvalidGraphException>(() => b.Apply("rms_norm_f", [c, Arg.Ints(2)])).Message, StringComparison.Ordinal);
        b.Output(na, "na");
        b.Output(nc, "nc");
        Graph g = b.Build();

        using var tmp = new TempDir();
        NnefArchive.Write(g, tmp.File("f"));
        Graph read = NnefArchive.Read(tmp.File("f"));
        GraphAssert.Equal(g, read);
        float[] av = Random(2 * Hidden);
        IReadOnlyList<NamedTensor> outputs = new GraphEvaluator(read).Run(
            [new("a", TensorValue.F32([1, 2, Hidden], av)), new("c", TensorValue.F32([4, 5], Random(20)))]);
        float[] expected = new float[av.Length];
        for (int row = 0; row < 2; row++)
        {
            double ms = Enumerable.Range(0, Hidden).Average(i => (double)av[(row * Hidden) + i] * av[(row * Hidden) + i]);
            for (int i = 0; i < Hidden; i++)
            {
                expected[(row * Hidden) + i] = (float)(av[(row * Hidden) + i] / Math.Sqrt(ms + Eps));
            }
        }

        Close(expected, outputs[0].Value.Span<float>().ToArray());
        Assert.Equal(DatumType.F16, outputs[1].Value.Type);
    }

    [Fact]
    public void AnExistingGraphCanBeExtended()
    {
        Graph llama = NnefArchive.Read(Golden.File("llm", "llama", "export_f32", "model", "model.nnef.tgz"));
        GraphBuilder b = GraphBuilder.Extend(llama);
        GraphValue logits = b[llama.Outputs[0]];
        Assert.Equal("F32[1, 1, 512]", logits.Type.ToString());
        GraphValue probs = b.Softmax(logits, [-1], name: "probs");
        Assert.Equal(logits.Type, probs.Type);
        Assert.NotEqual("probs", b.Neg(logits, name: "probs").Name);
    }

    private Graph BuildBlock(out Dictionary<string, TensorType> typed)
    {
        var b = new GraphBuilder();
        Dim s = b.Symbol("S");
        Dim p = b.Symbol("P");
        b.Assert("S >= 1");
        GraphValue ids = b.Input("input_ids", DatumType.I64, 1, s);
        GraphValue cacheK = b.Input("in_cache_key", DatumType.F32, 1, Heads, p, HeadDim);
        GraphValue cacheV = b.Input("in_cache_value", DatumType.F32, 1, Heads, p, HeadDim);

        GraphValue h = b.Gather(b.Variable("embed.weight", Source("embed", Vocab, Hidden)), ids, name: "embeds");
        GraphValue meanSquare = b.Reduce("mean_reduce", b.Mul(h, h), [-1], name: "mean_square");
        GraphValue inverse = b.Rsqrt(b.Add(meanSquare, Arg.Float(Eps)));
        GraphValue gain = b.AlignRank(b.Variable("norm.weight", Source("norm", Hidden)), 3);
        GraphValue x = b.Mul(b.Mul(h, inverse), gain, name: "normed");

        GraphValue Projection(string label, GraphValue input) =>
            b.Linear(input, b.AlignRank(b.Variable(label, Source(label, Hidden, Hidden)), 3), name: label.Split('.')[0]);
        GraphValue SplitHeads(GraphValue t) => b.Transpose(b.Reshape(t, [1, -1, Heads, HeadDim]), [0, 2, 1, 3]);

        GraphValue q = SplitHeads(Projection("q_proj.weight", x));
        GraphValue keys = b.Concat([cacheK, SplitHeads(Projection("k_proj.weight", x))], axis: 2, name: "out_cache_key");
        GraphValue values = b.Concat([cacheV, SplitHeads(Projection("v_proj.weight", x))], axis: 2, name: "out_cache_value");
        Assert.Equal(s + p, keys[2]);
        GraphValue scores = b.Mul(b.MatMul(q, keys, transposeB: true), Arg.Float(1 / Math.Sqrt(HeadDim)), name: "scores");
        GraphValue attn = b.Softmax(scores, [-1], name: "attn");
        GraphValue merged = b.Reshape(b.Transpose(b.MatMul(attn, values), [0, 2, 1, 3]), [1, s, Hidden], name: "merged");
        GraphValue hidden = Projection("o_proj.weight", merged);
        b.Output(hidden, "hidden");
        b.Output(keys);
        b.Output(values);
        Graph graph = b.Build();
        typed = graph.Nodes.SelectMany(n => n.Outputs).ToDictionary(o => o, b.TypeOf);
        return graph;
    }

    // The block by hand, in double precision, from the same weights.
    private (float[] Hidden, float[] Keys, float[] Values) Reference(long[] ids, float[] cacheK, float[] cacheV, int p)
    {
        int s = ids.Length;
        int t = p + s;
        double[,] x = new double[s, Hidden];
        for (int i = 0; i < s; i++)
        {
            double ms = 0;
            for (int e = 0; e < Hidden; e++)
            {
                double w = _weights["embed"][(ids[i] * Hidden) + e];
                ms += w * w / Hidden;
            }

            for (int e = 0; e < Hidden; e++)
            {
                x[i, e] = _weights["embed"][(ids[i] * Hidden) + e] / Math.Sqrt(ms + Eps) * _weights["norm"][e];
            }
        }

        double[,] Project(string w, double[,] input)
        {
            var r = new double[s, Hidden];
            for (int i = 0; i < s; i++)
            {
                for (int o = 0; o < Hidden; o++)
                {
                    for (int e = 0; e < Hidden; e++)
                    {
                        r[i, o] += input[i, e] * _weights[w][(o * Hidden) + e];
                    }
                }
            }

            return r;
        }

        double[,] q = Project("q_proj.weight", x);
        double[,] k = Project("k_proj.weight", x);
        double[,] v = Project("v_proj.weight", x);
        var keys = new float[Heads * t * HeadDim];
        var values = new float[Heads * t * HeadDim];
        for (int h = 0; h < Heads; h++)
        {
            for (int j = 0; j < t; j++)
            {
                for (int d = 0; d < HeadDim; d++)
                {
                    int at = (((h * t) + j) * HeadDim) + d;
                    keys[at] = j < p ? cacheK[(((h * p) + j) * HeadDim) + d] : (float)k[j - p, (h * HeadDim) + d];
                    values[at] = j < p ? cacheV[(((h * p) + j) * HeadDim) + d] : (float)v[j - p, (h * HeadDim) + d];
                }
            }
        }

        var merged = new double[s, Hidden];
        for (int h = 0; h < Heads; h++)
        {
            for (int i = 0; i < s; i++)
            {
                var score = new double[t];
                for (int j = 0; j < t; j++)
                {
                    for (int d = 0; d < HeadDim; d++)
                    {
                        score[j] += q[i, (h * HeadDim) + d] * keys[(((h * t) + j) * HeadDim) + d] / Math.Sqrt(HeadDim);
                    }
                }

                double max = score.Max();
                double[] e = [.. score.Select(z => Math.Exp(z - max))];
                double sum = e.Sum();
                for (int d = 0; d < HeadDim; d++)
                {
                    for (int j = 0; j < t; j++)
                    {
                        merged[i, (h * HeadDim) + d] += e[j] / sum * values[(((h * t) + j) * HeadDim) + d];
                    }
                }
            }
        }

        double[,] o = Project("o_proj.weight", merged);
        return ([.. Enumerable.Range(0, s * Hidden).Select(i => (float)o[i / Hidden, i % Hidden])], keys, values);
    }

    private static void Close(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 + (1e-4 * Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }

    private float[] Random(int count) => [.. Enumerable.Range(0, count).Select(_ => (float)((_random.NextDouble() * 2) - 1))];

    private TensorSource Source(string key, params int[] shape)
    {
        float[] values = Random(shape.Aggregate(1, (a, d) => a * d));
        _weights[key] = values;
        return Source(shape, values);
    }

    private TensorSource Source(params int[] shape) => Source(shape, Random(shape.Aggregate(1, (a, d) => a * d)));

    private TensorSource Source(int[] shape, float[] values)
    {
        Tensor t = Tensor.FromFloats(Shape.Of(shape), values);
        _owned.Add(t);
        return TensorSource.FromTensor(t);
    }
}
