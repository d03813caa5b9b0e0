using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Formats.HuggingFace;

namespace TorchToNnef.Export.Llm.Reference;

/// <summary>
/// Converts between the exported graph's named inputs/outputs (check-io bundles, <see cref="LlmIoNames"/>) and the
/// reference pass's token ids and caches, so a bundle can drive the reference and the reference can be compared to a
/// graph output by output.
/// </summary>
public static class ReferenceBundles
{
    /// <summary>Token ids and past caches read from a bundle's inputs (caches in any float type).</summary>
    /// <exception cref="InvalidGraphException">An input is missing or has the wrong shape.</exception>
    public static (long[] InputIds, List<KvCache> Past) ReadInputs(IReadOnlyList<NamedTensor> bundle, DecoderConfig config)
    {
        Dictionary<string, TensorValue> byName = bundle.GroupBy(t => t.Name).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);
        TensorValue ids = Get(byName, LlmIoNames.InputIds);
        if (ids.Rank != 2 || ids.Shape[0] != 1)
        {
            throw new InvalidGraphException(LlmIoNames.InputIds, $"expected [1, S] token ids, got {ids}");
        }

        long[] tokens = Cast.To(ids, DatumType.I64).Span<long>().ToArray();
        var past = new List<KvCache>(config.NumLayers);
        for (int i = 0; i < config.NumLayers; i++)
        {
            TensorValue k = Get(byName, LlmIoNames.InCacheKey(i));
            TensorValue v = Get(byName, LlmIoNames.InCacheValue(i));
            CheckCache(LlmIoNames.InCacheKey(i), k, config);
            CheckCache(LlmIoNames.InCacheValue(i), v, config);
            past.Add(new KvCache(config.NumKeyValueHeads, k.Shape[2], config.HeadDim, k.ToFloats(), v.ToFloats()));
        }

        return (tokens, past);
    }

    /// <summary>
    /// The graph outputs a step produces: <c>outputs</c> <c>[1, positions, vocab]</c> then each layer's
    /// <c>out_cache_key_i</c>, <c>out_cache_value_i</c> <c>[1, kv_heads, P + S, head_dim]</c>; f16 values for the f16
    /// precisions, f32 otherwise.
    /// </summary>
    public static List<NamedTensor> ToOutputs(ForwardResult result, ReferencePrecision precision)
    {
        bool half = precision != ReferencePrecision.F32;
        var outputs = new List<NamedTensor>(1 + (2 * result.Caches.Count))
        {
            new(LlmIoNames.Logits, Value([1, result.LogitPositions, result.VocabSize], result.Logits, half)),
        };
        for (int i = 0; i < result.Caches.Count; i++)
        {
            KvCache c = result.Caches[i];
            int[] shape = [1, c.KvHeads, c.Length, c.HeadDim];
            outputs.Add(new(LlmIoNames.OutCacheKey(i), Value(shape, c.Keys, half)));
            outputs.Add(new(LlmIoNames.OutCacheValue(i), Value(shape, c.Values, half)));
        }

        return outputs;
    }

    private static TensorValue Value(int[] shape, float[] values, bool half) =>
        half ? TensorValue.Create(DatumType.F16, shape, Array.ConvertAll(values, v => (Half)v)) : TensorValue.F32(shape, values);

    private static TensorValue Get(Dictionary<string, TensorValue> byName, string name) =>
        byName.TryGetValue(name, out TensorValue? v) ? v : throw new InvalidGraphException(name, "the bundle has no such input");

    private static void CheckCache(string name, TensorValue v, DecoderConfig c)
    {
        if (v.Rank != 4 || v.Shape[0] != 1 || v.Shape[1] != c.NumKeyValueHeads || v.Shape[3] != c.HeadDim)
        {
            throw new InvalidGraphException(name, $"expected a [1, {c.NumKeyValueHeads}, P, {c.HeadDim}] cache, got {v}");
        }
    }
}
