using System.Globalization;
using TorchToNnef.Export.Llm.Reference;
using TorchToNnef.Export.Llm.Weights;
using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Llm.Building;

/// <summary>
/// Builds the graph of a decoder with <see cref="GraphBuilder"/>, in the reference tool's I/O contract
/// (<c>llm-export.md</c> §5): inputs <c>input_ids</c> <c>[1, S]</c> and per layer the past keys and values
/// <c>[1, kv_heads, P, head_dim]</c>; outputs the logits of the last positions and the caches extended to
/// <c>P + S</c>. Tokens sit at positions <c>P .. P+S-1</c>: rotary angles use those positions, and token <c>i</c>
/// attends to every cached position and to the new ones up to its own (causal mask with the position offset; within
/// the sliding window when the layer has one). Attention is grouped: each KV head serves its query heads through a
/// reshape, without copying the cache. Only operators of tract's decoder set are used (<c>tract-ops.md</c> §6.1),
/// decomposed as tract expects to find them.
/// </summary>
internal sealed partial class DecoderGraphBuilder
{
    private readonly GraphBuilder _b = new();
    private readonly DecoderArchitecture _arch;
    private readonly DecoderConfig _config;
    private readonly WeightPlan _weights;
    private readonly LlmPrecision _precision;
    private readonly Dictionary<string, GraphValue> _variables = new(StringComparer.Ordinal);

    private DecoderGraphBuilder(DecoderArchitecture arch, WeightPlan weights, LlmPrecision precision)
    {
        _arch = arch;
        _config = arch.Config;
        _weights = weights;
        _precision = precision;
    }

    private DatumType Act => _precision.Activation;

    /// <summary>
    /// The graph of <paramref name="arch"/> over <paramref name="weights"/>, computing in <paramref name="precision"/>
    /// and returning the logits of the last <paramref name="logitsToKeep"/> positions (all of them with 0).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="logitsToKeep"/> is negative.</exception>
    public static Graph Build(DecoderArchitecture arch, WeightPlan weights, LlmPrecision precision, int logitsToKeep = 1)
    {
        ArgumentNullException.ThrowIfNull(arch);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(precision);
        ArgumentOutOfRangeException.ThrowIfNegative(logitsToKeep);
        return new DecoderGraphBuilder(arch, weights, precision).Build(logitsToKeep);
    }

    private Graph Build(int logitsToKeep)
    {
        DecoderConfig c = _config;
        Dim s = _b.Symbol("S");
        Dim p = _b.Symbol("P");
        _b.Assert("P >= 0");
        _b.Assert("S >= 1");
        _b.Assert(string.Create(CultureInfo.InvariantCulture, $"S+P < {c.MaxPositionEmbeddings}"));
        _b.Assert("tg: S==1");
        _b.Assert("pp: P==0");

        GraphValue ids = _b.Input(LlmIoNames.InputIds, DatumType.I64, 1, s);
        var pastKeys = new GraphValue[c.NumLayers];
        var pastValues = new GraphValue[c.NumLayers];
        for (int i = 0; i < c.NumLayers; i++)
        {
            pastKeys[i] = _b.Input(LlmIoNames.InCacheKey(i), Act, 1, c.NumKeyValueHeads, p, c.HeadDim);
            pastValues[i] = _b.Input(LlmIoNames.InCacheValue(i), Act, 1, c.NumKeyValueHeads, p, c.HeadDim);
        }

        Positions positions = PositionsOf(ids, pastKeys[0]);
        (GraphValue cos, GraphValue sin) = RotaryTables(positions.Query);
        var masks = new Dictionary<long, GraphValue>();

        GraphValue x = Embed(ids);
        var outputs = new List<(GraphValue Key, GraphValue Value)>(c.NumLayers);
        foreach (DecoderLayerWeights layer in _arch.Layers)
        {
            long window = layer.AttentionWindow ?? 0;
            if (!masks.TryGetValue(window, out GraphValue? mask))
            {
                masks[window] = mask = CausalMask(positions, layer.AttentionWindow);
            }

            string h = Hint(layer.Index, string.Empty);
            GraphValue normed = RmsNorm(x, layer.AttentionNorm, h + "attn_norm");
            (GraphValue attention, GraphValue keys, GraphValue values) = Attention(layer, normed, pastKeys[layer.Index], pastValues[layer.Index], cos, sin, mask);
            outputs.Add((keys, values));
            x = _b.Add(x, attention, h + "attn_residual");
            normed = RmsNorm(x, layer.MlpNorm, h + "mlp_norm");
            x = _b.Add(x, Mlp(layer, normed), h + "mlp_residual");
        }

        GraphValue last = LastPositions(x, logitsToKeep, s, positions.Length);
        GraphValue logits = Linear(RmsNorm(last, _arch.FinalNorm, "final_norm"), _arch.LmHead, null, LlmIoNames.Logits);
        _b.Output(logits, LlmIoNames.Logits);
        for (int i = 0; i < outputs.Count; i++)
        {
            _b.Output(outputs[i].Key, LlmIoNames.OutCacheKey(i));
            _b.Output(outputs[i].Value, LlmIoNames.OutCacheValue(i));
        }

        return _b.Build();
    }

    private static string Hint(int layer, string what) => string.Create(CultureInfo.InvariantCulture, $"layer{layer}_{what}");

    // The variable of checkpoint tensor `name` (one per label: a tied output projection reuses the embedding's).
    private GraphValue Weight(string name)
    {
        PlannedWeight w = _weights[name];
        if (!_variables.TryGetValue(w.Label, out GraphValue? v))
        {
            _variables[w.Label] = v = _b.Variable(w.Label, w.Source);
        }

        return v;
    }

    private GraphValue Embed(GraphValue ids)
    {
        PlannedWeight table = _weights[_arch.Embedding];
        return _b.Gather(Weight(_arch.Embedding), ids, axis: 0, datumType: table.Quantized ? Act : null, name: "embeddings");
    }

    // Logits of the last n positions: [1, S, hidden] sliced to [1, n, hidden] (all positions with n = 0). For n = 1 the
    // bounds are the symbols S-1 and S; for n > 1 the start is max(S - n, 0) computed from the token count, so a
    // step with fewer tokens keeps them all, as transformers' hidden_states[:, -n:] does.
    private GraphValue LastPositions(GraphValue x, int n, Dim s, GraphValue length)
    {
        if (n == 0)
        {
            return x;
        }

        if (n == 1)
        {
            return _b.Slice(x, [1], [s - 1], [s], name: "last_position");
        }

        GraphValue start = _b.Apply("max", [_b.Sub(length, Arg.Int(n), "kept_start_raw"), Arg.Int(0)], name: "kept_start");
        return _b.Apply(
            "slice",
            [x],
            [new("axes", Arg.Ints(1)), new("begin", Arg.Array(start.ToArg())), new("end", Arg.Dims(s))],
            name: "last_positions");
    }

    private GraphValue Mlp(DecoderLayerWeights layer, GraphValue x)
    {
        string h = Hint(layer.Index, string.Empty);
        Dictionary<LinearWeights, GraphValue> outputs = layer.GateUpLinears.ToDictionary(l => l, l => Linear(x, l, h + ModuleHint(l.Weight)));
        GraphValue gate = Project(outputs, layer.Gate, h + "gate");
        GraphValue up = Project(outputs, layer.Up, h + "up");

        // SiLU as x · sigmoid(x), in f32 inside an f16 graph and rounded once, as PyTorch's f16 silu computes it.
        GraphValue wide = Act == DatumType.F32 ? gate : _b.Cast(gate, DatumType.F32, h + "gate_f32");
        GraphValue activated = _b.Mul(wide, _b.Sigmoid(wide, h + "gate_sigmoid"), h + "gate_silu");
        if (Act != DatumType.F32)
        {
            activated = _b.Cast(activated, Act, h + "gate_silu_cast");
        }

        return Linear(_b.Mul(activated, up, h + "gated"), layer.Down, h + "down_proj");
    }

    // A projection's output: the whole linear output, or its rows [offset, offset + size) of a fused one.
    private GraphValue Project(Dictionary<LinearWeights, GraphValue> outputs, Projection p, string hint)
    {
        GraphValue all = outputs[p.Linear];
        return p.IsFused ? _b.Slice(all, [-1], [p.Offset], [p.Offset + p.Size], name: hint) : all;
    }

    /// <summary>
    /// <c>x · Wᵀ (+ b)</c> with NNEF <c>linear</c> (weight unsqueezed to the input's rank, as tract wants it, Q4_0 or
    /// not); with f32 accumulation, <c>tract_core_einsum(acc = 'f32')</c>, the bias added in f32, then a cast back.
    /// </summary>
    private GraphValue Linear(GraphValue x, LinearWeights l, string hint) => Linear(x, l.Weight, l.Bias, hint);

    private GraphValue Linear(GraphValue x, string weight, string? bias, string hint)
    {
        GraphValue w = Weight(weight);
        if (_precision.F32LinearAccumulation)
        {
            GraphValue product = _b.Einsum("bsi,oi->bso", DatumType.F32, [x, w], hint + "_f32");
            if (bias is not null)
            {
                product = _b.Add(product, _b.AlignRank(_b.Cast(Weight(bias), DatumType.F32), x.Rank), hint + "_biased");
            }

            return _b.Cast(product, Act, hint);
        }

        Arg b = bias is null ? Arg.Float(0.0) : _b.AlignRank(Weight(bias), x.Rank);
        return _b.Linear(x, _b.AlignRank(w, x.Rank), b, hint);
    }

    /// <summary>
    /// RMS norm over the last axis as transformers computes it: normalized in f32 (<c>x · rsqrt(mean(x²) + eps)</c>),
    /// cast back to the activation type, then multiplied by the weight.
    /// </summary>
    private GraphValue RmsNorm(GraphValue x, string weight, string hint)
    {
        GraphValue wide = Act == DatumType.F32 ? x : _b.Cast(x, DatumType.F32, hint + "_f32");
        GraphValue meanSquare = _b.Reduce("mean_reduce", _b.Mul(wide, wide, hint + "_square"), [-1], hint + "_mean_square");
        GraphValue inverse = _b.Rsqrt(_b.Add(meanSquare, Arg.Float(_arch.RmsNormEps), hint + "_plus_eps"), hint + "_rsqrt");
        GraphValue normalized = _b.Mul(wide, inverse, hint + "_normalized");
        if (Act != DatumType.F32)
        {
            normalized = _b.Cast(normalized, Act, hint + "_cast");
        }

        return _b.Mul(normalized, _b.AlignRank(Weight(weight), x.Rank), hint);
    }

    /// <summary>The position values every layer shares.</summary>
    /// <param name="Past">P, a TDim scalar.</param>
    /// <param name="Length">S, a TDim scalar.</param>
    /// <param name="Query">Positions of the new tokens, <c>P .. P+S-1</c>, i64 <c>[S]</c>.</param>
    /// <param name="Key">Positions of every key, <c>0 .. P+S-1</c>, i64 <c>[P+S]</c>.</param>
    private sealed record Positions(GraphValue Past, GraphValue Length, GraphValue Query, GraphValue Key);

    private Positions PositionsOf(GraphValue ids, GraphValue pastKeys)
    {
        GraphValue past = _b.Squeeze(_b.Slice(_b.ShapeOf(pastKeys, "past_shape"), [0], [2], [3], name: "past_length_1d"), [0], "past_length");
        GraphValue length = _b.Squeeze(_b.Slice(_b.ShapeOf(ids, "ids_shape"), [0], [1], [2], name: "new_length_1d"), [0], "new_length");
        GraphValue total = _b.Add(past, length, "total_length");
        GraphValue query = _b.Range(past, total, Arg.Int(1), "query_positions");
        GraphValue key = _b.Range(Arg.Int(0), total, Arg.Int(1), "key_positions");
        return new Positions(past, length, query, key);
    }

    /// <summary>
    /// cos and sin of the rotary angles <c>position · inv_freq</c>, <c>[1, 1, S, head_dim]</c> (each frequency twice,
    /// as transformers concatenates them). Frequencies (with the config's scaling) and angles are f32 whatever the
    /// export's type; only cos and sin are cast to it.
    /// </summary>
    private (GraphValue Cos, GraphValue Sin) RotaryTables(GraphValue positions)
    {
        float[] inverse = RotaryFrequencies.Inverse(_config.Rope, _config.HeadDim);
        TensorSource frequencies = TensorSource.Computed(DType.F32, new Shape(inverse.Length), () => Tensor.FromSpan<float>(DType.F32, new Shape(inverse.Length), inverse));
        GraphValue invFreq = _b.Variable(WeightPlan.LabelOf("model.rotary_emb.inv_freq"), frequencies, "inv_freq");
        GraphValue pos = _b.Unsqueeze(_b.Cast(positions, DatumType.F32, "positions_f32"), [1], "positions_column");
        GraphValue angles = _b.Mul(pos, _b.Unsqueeze(invFreq, [0], "inv_freq_row"), "rotary_angles");
        GraphValue both = _b.Concat([angles, angles], 1, "rotary_angles_full");
        GraphValue cos = _b.Unary("cos", both, "rotary_cos_f32");
        GraphValue sin = _b.Unary("sin", both, "rotary_sin_f32");
        if (Act != DatumType.F32)
        {
            cos = _b.Cast(cos, Act, "rotary_cos_cast");
            sin = _b.Cast(sin, Act, "rotary_sin_cast");
        }

        return (_b.Unsqueeze(cos, [0, 1], "rotary_cos"), _b.Unsqueeze(sin, [0, 1], "rotary_sin"));
    }
}
