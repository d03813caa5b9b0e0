using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Benchmarks.Llama;

/// <summary>Dimensions of a Llama-family decoder.</summary>
/// <param name="Hidden">Model width.</param>
/// <param name="Layers">Decoder layers.</param>
/// <param name="Intermediate">MLP width.</param>
/// <param name="Vocabulary">Tokens.</param>
/// <param name="Heads">Query heads.</param>
/// <param name="KvHeads">Key/value heads.</param>
public sealed record LlamaShape(int Hidden, int Layers, int Intermediate, int Vocabulary, int Heads, int KvHeads)
{
    /// <summary>The issue-12 target: TinyLlama-1.1B's shape.</summary>
    public static LlamaShape TinyLlama { get; } = new(2048, 22, 5632, 32000, 32, 4);

    /// <summary>Width of one head.</summary>
    public int HeadDim => Hidden / Heads;

    /// <summary>Stored bytes of every Q4_0 weight (18 per 32 values): embeddings, 7 projections per layer, lm_head.</summary>
    public long Q40Bytes => Q40Values / 32 * 18;

    /// <summary>Weights stored as Q4_0.</summary>
    public long Q40Values =>
        (2L * Vocabulary * Hidden) + ((long)Layers * (((2L * Hidden) + (2L * KvHeads * HeadDim)) * Hidden + (3L * Intermediate * Hidden)));

    /// <summary>Fused multiply-adds of the projections and attention for <paramref name="tokens"/> new tokens after <paramref name="past"/>.</summary>
    public double Fmas(int tokens, int past)
    {
        double projections = (double)tokens * (Q40Values - ((long)Vocabulary * Hidden));
        double attention = 2.0 * Layers * Heads * tokens * (past + tokens) * HeadDim;
        return projections + attention;
    }
}

/// <summary>
/// Builds, in code, the graph the LLM exporter writes for a Llama decoder step (what tract and <c>t2n verify</c> run):
/// Q4_0 token embedding gathered, per layer RMS norm written out (<c>sqr</c>, <c>mean_reduce</c>, <c>add</c>,
/// <c>rsqrt</c>, <c>mul</c>), Q4_0 <c>linear</c> projections, RoPE (<c>slice</c>, <c>neg</c>, <c>concat</c>, <c>mul</c>,
/// <c>add</c>), key/value caches concatenated and repeated for grouped-query attention (<c>unsqueeze</c>, <c>tile</c>,
/// <c>reshape</c>), attention through <c>tract_core_einsum</c> and <c>softmax</c>, a SiLU MLP, residual adds, and the
/// Q4_0 lm_head over every position. Inputs: token ids <c>[1, S]</c>, per layer caches <c>[1, kv, P, d]</c>, RoPE
/// <c>cos</c>/<c>sin</c> <c>[1, 1, S, d]</c> and an additive mask <c>[1, 1, S, P + S]</c>. Weights are random (seeded)
/// Q4_0 blocks produced on demand, so the graph holds no weight memory until an evaluator opens them.
/// </summary>
public static class LlamaGraph
{
    /// <summary>The graph for <paramref name="tokens"/> new tokens after <paramref name="past"/> cached positions.</summary>
    public static Graph Build(LlamaShape s, int tokens, int past, int seed = 1)
    {
        var g = new Graph { Registries = { "tract_core" } };
        int d = s.HeadDim;
        int total = past + tokens;
        g.AddInput("input_ids", DType.I64, [Dim.Of(1), Dim.Of(tokens)]);
        g.AddInput("cos", DType.F32, [Dim.Of(1), Dim.Of(1), Dim.Of(tokens), Dim.Of(d)]);
        g.AddInput("sin", DType.F32, [Dim.Of(1), Dim.Of(1), Dim.Of(tokens), Dim.Of(d)]);
        g.AddInput("mask", DType.F32, [Dim.Of(1), Dim.Of(1), Dim.Of(tokens), Dim.Of(total)]);
        for (int l = 0; l < s.Layers; l++)
        {
            g.AddInput($"in_cache_key_{l}", DType.F32, [Dim.Of(1), Dim.Of(s.KvHeads), Dim.Of(past), Dim.Of(d)]);
            g.AddInput($"in_cache_value_{l}", DType.F32, [Dim.Of(1), Dim.Of(s.KvHeads), Dim.Of(past), Dim.Of(d)]);
        }

        int weight = 0;
        string Q40(string name, int rows, int columns) =>
            Weight(g, name, rows, columns, seed * 1000 + weight++);

        Q40("embed_tokens", s.Vocabulary, s.Hidden);
        Op(g, "x_0", "tract_core_gather", R("embed_tokens"), R("input_ids")).With("axis", Arg.Int(0)).With("datum_type", Arg.String("f32"));
        string x = "x_0";
        for (int l = 0; l < s.Layers; l++)
        {
            string p = $"l{l}_";
            string h = RmsNorm(g, x, p + "attn_norm", s.Hidden);
            string q = Linear(g, h, Q40(p + "q_proj", s.Hidden, s.Hidden), p + "q");
            string k = Linear(g, h, Q40(p + "k_proj", s.KvHeads * d, s.Hidden), p + "k");
            string v = Linear(g, h, Q40(p + "v_proj", s.KvHeads * d, s.Hidden), p + "v");
            q = Heads(g, q, tokens, s.Heads, d, p + "qh");
            k = Heads(g, k, tokens, s.KvHeads, d, p + "kh");
            v = Heads(g, v, tokens, s.KvHeads, d, p + "vh");
            q = Rope(g, q, d, p + "qr");
            k = Rope(g, k, d, p + "kr");
            Op(g, $"out_cache_key_{l}", "concat", Arg.Array(R($"in_cache_key_{l}"), R(k))).With("axis", Arg.Int(2));
            Op(g, $"out_cache_value_{l}", "concat", Arg.Array(R($"in_cache_value_{l}"), R(v))).With("axis", Arg.Int(2));
            string keys = Repeat(g, $"out_cache_key_{l}", s, total, p + "keys");
            string values = Repeat(g, $"out_cache_value_{l}", s, total, p + "values");
            Op(g, p + "scores", "tract_core_einsum", Arg.Array(R(q), R(keys))).With("expr", Arg.String("bcij,bckj->bcik")).With("acc", Arg.String("f32"));
            Op(g, p + "scaled", "mul", R(p + "scores"), Arg.Float(1.0 / Math.Sqrt(d)));
            Op(g, p + "masked", "add", R(p + "scaled"), R("mask"));
            Op(g, p + "probs", "softmax", R(p + "masked")).With("axes", Arg.Ints(3));
            Op(g, p + "attn", "tract_core_einsum", Arg.Array(R(p + "probs"), R(values))).With("expr", Arg.String("bcij,bcjk->bcik")).With("acc", Arg.String("f32"));
            Op(g, p + "attn_t", "transpose", R(p + "attn")).With("axes", Arg.Ints(0, 2, 1, 3));
            Op(g, p + "attn_flat", "reshape", R(p + "attn_t")).With("shape", Arg.Ints(1, tokens, s.Hidden));
            string o = Linear(g, p + "attn_flat", Q40(p + "o_proj", s.Hidden, s.Hidden), p + "o");
            Op(g, p + "res1", "add", R(x), R(o));
            string h2 = RmsNorm(g, p + "res1", p + "mlp_norm", s.Hidden);
            string gate = Linear(g, h2, Q40(p + "gate_proj", s.Intermediate, s.Hidden), p + "gate");
            string up = Linear(g, h2, Q40(p + "up_proj", s.Intermediate, s.Hidden), p + "up");
            Op(g, p + "gate_sig", "sigmoid", R(gate));
            Op(g, p + "silu", "mul", R(gate), R(p + "gate_sig"));
            Op(g, p + "mlp_in", "mul", R(p + "silu"), R(up));
            string down = Linear(g, p + "mlp_in", Q40(p + "down_proj", s.Hidden, s.Intermediate), p + "down");
            Op(g, $"x_{l + 1}", "add", R(p + "res1"), R(down));
            x = $"x_{l + 1}";
        }

        string final = RmsNorm(g, x, "final_norm", s.Hidden);
        Linear(g, final, Q40("lm_head", s.Vocabulary, s.Hidden), "logits");
        g.Outputs.Add("logits");
        for (int l = 0; l < s.Layers; l++)
        {
            g.Outputs.Add($"out_cache_key_{l}");
            g.Outputs.Add($"out_cache_value_{l}");
        }

        return g;
    }

    /// <summary>Inputs for a step: token ids, RoPE tables at positions <c>past ..</c>, a causal mask, random caches.</summary>
    public static List<NamedTensor> Inputs(LlamaShape s, int tokens, int past, int seed = 2)
    {
        var rng = new Random(seed);
        int d = s.HeadDim;
        int total = past + tokens;
        var inputs = new List<NamedTensor>
        {
            new("input_ids", TensorValue.Create(DatumType.I64, [1, tokens], Enumerable.Range(0, tokens).Select(_ => (long)rng.Next(s.Vocabulary)).ToArray())),
        };
        var cos = new float[tokens * d];
        var sin = new float[tokens * d];
        for (int t = 0; t < tokens; t++)
        {
            for (int i = 0; i < d; i++)
            {
                double angle = (past + t) * Math.Pow(10000, -2.0 * (i % (d / 2)) / d);
                cos[(t * d) + i] = (float)Math.Cos(angle);
                sin[(t * d) + i] = (float)Math.Sin(angle);
            }
        }

        inputs.Add(new("cos", TensorValue.F32([1, 1, tokens, d], cos)));
        inputs.Add(new("sin", TensorValue.F32([1, 1, tokens, d], sin)));
        var mask = new float[tokens * total];
        for (int t = 0; t < tokens; t++)
        {
            for (int j = past + t + 1; j < total; j++)
            {
                mask[(t * total) + j] = float.NegativeInfinity;
            }
        }

        inputs.Add(new("mask", TensorValue.F32([1, 1, tokens, total], mask)));
        for (int l = 0; l < s.Layers; l++)
        {
            inputs.Add(new($"in_cache_key_{l}", TensorValue.F32([1, s.KvHeads, past, d], EvaluatorTargetBenchmarks.Random(rng, s.KvHeads * past * d))));
            inputs.Add(new($"in_cache_value_{l}", TensorValue.F32([1, s.KvHeads, past, d], EvaluatorTargetBenchmarks.Random(rng, s.KvHeads * past * d))));
        }

        return inputs;
    }

    private static string Weight(Graph g, string name, int rows, int columns, int seed)
    {
        g.AddVariable(name, name, TensorSource.Computed(DType.Q40, new Shape(rows, columns), () => EvaluatorTargetBenchmarks.RandomQ40(new Random(seed), rows, columns)));
        return name;
    }

    private static string RmsNorm(Graph g, string x, string name, int hidden)
    {
        var scale = new float[hidden];
        Array.Fill(scale, 1f);
        Tensor w = Tensor.FromFloats(new Shape(1, 1, hidden), scale);
        g.AddVariable(name + "_w", name + "_w", TensorSource.FromTensor(w));
        Op(g, name + "_sq", "sqr", R(x));
        Op(g, name + "_mean", "mean_reduce", R(name + "_sq")).With("axes", Arg.Ints(2));
        Op(g, name + "_eps", "add", R(name + "_mean"), Arg.Float(1e-5));
        Op(g, name + "_rs", "rsqrt", R(name + "_eps"));
        Op(g, name + "_n", "mul", R(x), R(name + "_rs"));
        Op(g, name, "mul", R(name + "_n"), R(name + "_w"));
        return name;
    }

    private static string Linear(Graph g, string x, string weight, string name)
    {
        Op(g, weight + "_3d", "unsqueeze", R(weight)).With("axes", Arg.Ints(0));
        Op(g, name, "linear", R(x), R(weight + "_3d"), Arg.Float(0.0));
        return name;
    }

    // [1, S, heads·d] -> [1, heads, S, d]
    private static string Heads(Graph g, string x, int tokens, int heads, int d, string name)
    {
        Op(g, name + "_4d", "reshape", R(x)).With("shape", Arg.Ints(1, tokens, heads, d));
        Op(g, name, "transpose", R(name + "_4d")).With("axes", Arg.Ints(0, 2, 1, 3));
        return name;
    }

    // x · cos + rotate_half(x) · sin, rotate_half(x) = concat(-x[..., d/2:], x[..., :d/2]).
    private static string Rope(Graph g, string x, int d, string name)
    {
        Op(g, name + "_lo", "slice", R(x)).With("axes", Arg.Ints(3)).With("begin", Arg.Ints(0)).With("end", Arg.Ints(d / 2));
        Op(g, name + "_hi", "slice", R(x)).With("axes", Arg.Ints(3)).With("begin", Arg.Ints(d / 2)).With("end", Arg.Ints(d));
        Op(g, name + "_neg", "neg", R(name + "_hi"));
        Op(g, name + "_rot", "concat", Arg.Array(R(name + "_neg"), R(name + "_lo"))).With("axis", Arg.Int(3));
        Op(g, name + "_c", "mul", R(x), R("cos"));
        Op(g, name + "_s", "mul", R(name + "_rot"), R("sin"));
        Op(g, name, "add", R(name + "_c"), R(name + "_s"));
        return name;
    }

    // Grouped-query attention: [1, kv, T, d] -> [1, kv, 1, T, d] tiled to [1, kv, heads/kv, T, d] -> [1, heads, T, d].
    private static string Repeat(Graph g, string cache, LlamaShape s, int total, string name)
    {
        Op(g, name + "_u", "unsqueeze", R(cache)).With("axes", Arg.Ints(2));
        Op(g, name + "_t", "tile", R(name + "_u")).With("repeats", Arg.Ints(1, 1, s.Heads / s.KvHeads, 1, 1));
        Op(g, name, "reshape", R(name + "_t")).With("shape", Arg.Ints(1, s.Heads, total, s.HeadDim));
        return name;
    }

    private static Node Op(Graph g, string output, string op, params Arg[] inputs)
    {
        var node = new Node(op, output);
        foreach (Arg a in inputs)
        {
            node.With(a);
        }

        g.Nodes.Add(node);
        return node;
    }

    private static Arg R(string name) => Arg.Ref(name);
}
