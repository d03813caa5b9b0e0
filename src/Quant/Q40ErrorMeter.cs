using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant;

/// <summary>Measures the error of quantized blocks against their source values, a batch of groups at a time.</summary>
internal static class Q40ErrorMeter
{
    private const int BatchGroups = 64;

    /// <summary>Adds the error of <paramref name="blocks"/> (dequantized in f32 as tract does) against <paramref name="source"/>.</summary>
    public static void Measure(DType sourceDType, ReadOnlySpan<byte> source, ReadOnlySpan<byte> blocks, Q40ErrorStats stats)
    {
        int groups = blocks.Length / Q40Format.BlockBytes;
        Span<float> original = stackalloc float[BatchGroups * Q40Format.GroupSize];
        Span<float> restored = stackalloc float[BatchGroups * Q40Format.GroupSize];
        for (int g0 = 0; g0 < groups; g0 += BatchGroups)
        {
            int n = Math.Min(BatchGroups, groups - g0);
            int values = n * Q40Format.GroupSize;
            int es = sourceDType.ElementSize();
            FloatConversions.ToSingle(sourceDType, source.Slice(g0 * Q40Format.GroupSize * es, values * es), original);
            Q40Kernels.DequantizeF32(Q40Kernels.Active, blocks.Slice(g0 * Q40Format.BlockBytes, n * Q40Format.BlockBytes), restored[..values]);
            stats.Add(original[..values], restored[..values]);
        }
    }
}
