using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Llm.Building;

internal sealed partial class DecoderGraphBuilder
{
    /// <summary>
    /// One layer's self-attention: q/k/v projections split into heads (per-head RMS norms when the family has them),
    /// rotary embedding of q and k, the new keys and values appended to the past ones (these are the layer's cache
    /// outputs), then grouped attention: the query heads of each KV head are stacked along the query axis
    /// (<c>[1, kv, group·S, d]</c>), so each KV head is read once and never copied; scores are scaled, masked and
    /// normalized in <see cref="LlmPrecision.AttentionScores"/>, multiplied by the values in the activation type, and
    /// the heads are merged back for the output projection.
    /// </summary>
    private (GraphValue Output, GraphValue Keys, GraphValue Values) Attention(
        DecoderLayerWeights layer, GraphValue x, GraphValue pastKeys, GraphValue pastValues, GraphValue cos, GraphValue sin, GraphValue mask)
    {
        DecoderConfig c = _config;
        int heads = c.NumAttentionHeads;
        int kv = c.NumKeyValueHeads;
        int d = c.HeadDim;
        string h = Hint(layer.Index, string.Empty);
        Dictionary<LinearWeights, GraphValue> projected = layer.QkvLinears.ToDictionary(l => l, l => Linear(x, l, h + ModuleHint(l.Weight)));
        GraphValue q = _b.Reshape(Project(projected, layer.Query, h + "q"), [0, 0, heads, d], h + "q_heads");
        GraphValue k = _b.Reshape(Project(projected, layer.Key, h + "k"), [0, 0, kv, d], h + "k_heads");
        GraphValue v = _b.Reshape(Project(projected, layer.Value, h + "v"), [0, 0, kv, d], h + "v_heads");
        if (layer.QueryNorm is not null && layer.KeyNorm is not null)
        {
            q = RmsNorm(q, layer.QueryNorm, h + "q_norm");
            k = RmsNorm(k, layer.KeyNorm, h + "k_norm");
        }

        q = Rotate(_b.Transpose(q, [0, 2, 1, 3], h + "q_by_head"), cos, sin, h + "q_rotated");
        k = Rotate(_b.Transpose(k, [0, 2, 1, 3], h + "k_by_head"), cos, sin, h + "k_rotated");
        v = _b.Transpose(v, [0, 2, 1, 3], h + "v_by_head");
        GraphValue keys = _b.Concat([pastKeys, k], 2, LlmIoNames.OutCacheKey(layer.Index));
        GraphValue values = _b.Concat([pastValues, v], 2, LlmIoNames.OutCacheValue(layer.Index));

        GraphValue grouped = _b.Reshape(q, [1, kv, -1, d], h + "q_grouped");
        GraphValue scores = _b.Einsum("bkmd,bktd->bkmt", _precision.AttentionScores, [grouped, keys], h + "scores");
        GraphValue scaled = _b.Mul(scores, Arg.Float(1.0 / Math.Sqrt(d)), h + "scores_scaled");
        GraphValue probabilities = _b.Softmax(_b.Add(scaled, mask, h + "scores_masked"), [-1], h + "attention");
        GraphValue mixed = _b.Einsum("bkmt,bktd->bkmd", Act, [probabilities, values], h + "mixed");
        GraphValue byHead = _b.Reshape(mixed, [1, heads, -1, d], h + "mixed_by_head");
        GraphValue merged = _b.Reshape(_b.Transpose(byHead, [0, 2, 1, 3], h + "mixed_by_token"), [0, 0, heads * d], h + "mixed_merged");
        return (Linear(merged, layer.Output, h + "o_proj"), keys, values);
    }

    // "model.layers.0.self_attn.q_proj.weight" -> "q_proj".
    private static string ModuleHint(string weight)
    {
        string[] parts = weight.Split('.');
        return parts.Length >= 2 ? parts[^2] : weight;
    }

    /// <summary>
    /// <c>x · cos + rotate_half(x) · sin</c> on <c>[1, heads, S, d]</c>, with <c>rotate_half(x) = [-x2, x1]</c> (the
    /// two halves of the last axis, sliced with constant bounds).
    /// </summary>
    private GraphValue Rotate(GraphValue x, GraphValue cos, GraphValue sin, string hint)
    {
        int d = _config.HeadDim;
        GraphValue first = _b.Slice(x, [3], [0], [d / 2], name: hint + "_x1");
        GraphValue second = _b.Slice(x, [3], [d / 2], [d], name: hint + "_x2");
        GraphValue rotated = _b.Concat([_b.Neg(second, hint + "_neg_x2"), first], 3, hint + "_rotate_half");
        return _b.Add(_b.Mul(x, cos, hint + "_cos"), _b.Mul(rotated, sin, hint + "_sin"), hint);
    }

    /// <summary>
    /// The additive attention mask <c>[1, 1, group·S, P+S]</c> in the scores' type: 0 where query token <c>i</c>
    /// (position <c>P+i</c>) may attend to key position <c>j</c> — <c>j &lt;= P+i</c>, and with a sliding window
    /// <c>w</c> also <c>j &gt; P+i-w</c> — and the most negative finite value of that type elsewhere (transformers'
    /// <c>finfo.min</c>; its exponential is 0). Rows repeat for each query head of a group (see <see cref="Attention"/>).
    /// </summary>
    private GraphValue CausalMask(Positions positions, long? window)
    {
        string hint = window is long w0 ? $"window{w0}_mask" : "causal_mask";
        GraphValue query = _b.Unsqueeze(positions.Query, [1], hint + "_query");
        GraphValue key = _b.Unsqueeze(positions.Key, [0], hint + "_key");
        GraphValue blocked = _b.Apply("gt", [key, query], name: hint + "_future");
        if (window is long w)
        {
            // An i64 constant, not a literal: tract types an integer literal as TDim, which would turn the positions into TDims.
            TensorSource size = TensorSource.Computed(DType.I64, new Shape(), () => Tensor.FromSpan<long>(DType.I64, new Shape(), [w]));
            GraphValue span = _b.Variable(hint.Replace("_mask", "_size", StringComparison.Ordinal), size);
            GraphValue tooOld = _b.Apply("le", [key, _b.Sub(query, span, hint + "_oldest")], name: hint + "_too_old");
            blocked = _b.Apply("or", [blocked, tooOld], name: hint + "_blocked");
        }

        bool half = _precision.AttentionScores == DatumType.F16;
        double fill = half ? -65504.0 : float.MinValue;
        GraphValue mask = _b.Select(blocked, Arg.Float(fill), Arg.Float(0.0), hint + "_f32");
        if (half)
        {
            mask = _b.Cast(mask, DatumType.F16, hint + "_f16");
        }

        int group = _config.QueriesPerKeyValue;
        if (group > 1)
        {
            mask = _b.Tile(mask, [group, 1], hint + "_grouped");
        }

        return _b.Unsqueeze(mask, [0, 1], hint);
    }
}
