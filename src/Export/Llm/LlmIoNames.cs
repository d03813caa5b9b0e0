using System.Globalization;

namespace TorchToNnef.Export.Llm;

/// <summary>Input and output names of an exported decoder graph (the reference tool's contract, <c>llm-export.md</c> §5.1).</summary>
public static class LlmIoNames
{
    /// <summary>Token ids <c>i64 [1, S]</c>.</summary>
    public const string InputIds = "input_ids";

    /// <summary>Logits <c>[1, num_logits_to_keep, vocab]</c>.</summary>
    public const string Logits = "outputs";

    /// <summary>Past keys of layer <paramref name="layer"/>, <c>[1, kv_heads, P, head_dim]</c>.</summary>
    public static string InCacheKey(int layer) => Name("in_cache_key_", layer);

    /// <summary>Past values of layer <paramref name="layer"/>.</summary>
    public static string InCacheValue(int layer) => Name("in_cache_value_", layer);

    /// <summary>Keys after this step, <c>[1, kv_heads, P + S, head_dim]</c>.</summary>
    public static string OutCacheKey(int layer) => Name("out_cache_key_", layer);

    /// <summary>Values after this step.</summary>
    public static string OutCacheValue(int layer) => Name("out_cache_value_", layer);

    private static string Name(string prefix, int layer) => prefix + layer.ToString(CultureInfo.InvariantCulture);
}
