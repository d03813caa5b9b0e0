using System.Numerics.Tensors;

namespace TorchToNnef.Export.Llm.Reference;

/// <summary>
/// Causal grouped-query attention over a key/value cache: query token t (at position <c>start + t</c>) of head h
/// attends to positions <c>0 ..= start + t</c> (within the sliding window, if any) of key/value head
/// <c>h / (heads / kv_heads)</c>, scores scaled by <c>1 / sqrt(head_dim)</c>.
/// </summary>
internal static class ReferenceAttention
{
    /// <summary>Attention output <c>[tokens, heads · head_dim]</c>, into <paramref name="output"/>.</summary>
    /// <param name="queries">Queries <c>[tokens, heads · head_dim]</c> (rotated).</param>
    /// <param name="cache">Keys and values of every position so far, this step's included.</param>
    /// <param name="tokens">Query tokens.</param>
    /// <param name="heads">Query heads.</param>
    /// <param name="start">Position of the first query token (the past length).</param>
    /// <param name="window">Sliding window, or null.</param>
    /// <param name="precision">Arithmetic.</param>
    /// <param name="parallel">Parallelism (over heads).</param>
    /// <param name="output">Where the output goes (<c>tokens × heads · head_dim</c> values, every one written); returned.</param>
    public static float[] Run(float[] queries, KvCache cache, int tokens, int heads, int start, long? window, ReferencePrecision precision, ParallelOptions parallel, float[] output)
    {
        if (output.Length != tokens * heads * cache.HeadDim)
        {
            throw new ArgumentException($"Attention writes {tokens}x{heads * cache.HeadDim} outputs, got room for {output.Length} values.", nameof(output));
        }

        int d = cache.HeadDim;
        int group = heads / cache.KvHeads;
        int total = cache.Length;
        bool halfScores = precision == ReferencePrecision.F16;
        bool halfOutput = precision != ReferencePrecision.F32;
        float scale = 1f / MathF.Sqrt(d);
        if (halfScores)
        {
            scale = HalfRounding.Round(scale);
        }

        Parallel.For(0, heads, parallel, h =>
        {
            int g = h / group;
            ReadOnlySpan<float> keys = cache.Keys.AsSpan(g * total * d, total * d);
            ReadOnlySpan<float> values = cache.Values.AsSpan(g * total * d, total * d);
            var scores = new float[total];
            var acc = new float[d];
            for (int t = 0; t < tokens; t++)
            {
                long position = start + t;
                int last = (int)position;
                int first = window is { } w ? (int)Math.Max(0, position - w + 1) : 0;
                ReadOnlySpan<float> q = queries.AsSpan(((t * heads) + h) * d, d);
                Span<float> s = scores.AsSpan(first, last - first + 1);
                for (int j = first; j <= last; j++)
                {
                    float dot = TensorPrimitives.Dot(q, keys.Slice(j * d, d));
                    s[j - first] = halfScores ? HalfRounding.Round(HalfRounding.Round(dot) * scale) : dot * scale;
                }

                Softmax(s, halfScores);
                if (precision == ReferencePrecision.F16WithF32Attention)
                {
                    HalfRounding.Round(s); // probabilities cast back to f16 before the product with the values
                }

                acc.AsSpan().Clear();
                for (int j = first; j <= last; j++)
                {
                    TensorPrimitives.MultiplyAdd(values.Slice(j * d, d), s[j - first], acc, acc);
                }

                Span<float> o = output.AsSpan(((t * heads) + h) * d, d);
                acc.CopyTo(o);
                if (halfOutput)
                {
                    HalfRounding.Round(o);
                }
            }
        });

        return output;
    }

    // f32: exp(x - max) / sum. f16 (the evaluator's f16 softmax): the difference and each exponential rounded, the sum
    // in f32, then the product with the rounded reciprocal rounded.
    private static void Softmax(Span<float> x, bool half)
    {
        float max = TensorPrimitives.Max(x);
        float sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float e = half ? HalfRounding.Round(MathF.Exp(HalfRounding.Round(x[i] - max))) : MathF.Exp(x[i] - max);
            x[i] = e;
            sum += e;
        }

        if (half)
        {
            float reciprocal = HalfRounding.Round(1f / sum);
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = HalfRounding.Round(x[i] * reciprocal);
            }
        }
        else
        {
            TensorPrimitives.Divide(x, sum, x);
        }
    }
}
