using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Calibration;

/// <summary>
/// The ggml / llama.cpp Q4_0 rule (<c>quantize_row_q4_0_ref</c>), which tract's own quantizer follows: the scale
/// comes from the signed value of largest magnitude (<c>d = max / -8</c>, so that value is exact), codes use the f32
/// reciprocal of the unrounded <c>d</c> and truncation: <c>code = min(15, (int)(x / d + 8.5))</c>; the stored scale is
/// <c>f16(d)</c>. Arithmetic is f32 with separate roundings (ggml's default x86-64 build). Scales may be positive.
/// </summary>
public sealed class GgmlCalibration : Q40Calibration
{
    /// <inheritdoc />
    public override string Name => "ggml";

    /// <inheritdoc />
    protected override void QuantizeCore(DType sourceDType, ReadOnlySpan<byte> source, Span<byte> blocks)
    {
        ReadOnlySpan<float> x = GroupBlocks.AsSingle(sourceDType, source, out float[]? rented);
        try
        {
            Span<byte> codes = stackalloc byte[Q40Format.GroupSize];
            for (int g = 0; g < x.Length / Q40Format.GroupSize; g++)
            {
                ushort scale = QuantizeGroup(x.Slice(g * Q40Format.GroupSize, Q40Format.GroupSize), codes);
                Q40Reference.WriteBlock(scale, codes, blocks.Slice(g * Q40Format.BlockBytes, Q40Format.BlockBytes));
            }
        }
        finally
        {
            GroupBlocks.Return(rented);
        }
    }

    /// <summary>One group: returns the f16 scale bits and fills the codes.</summary>
    internal static ushort QuantizeGroup(ReadOnlySpan<float> x, Span<byte> codes)
    {
        float amax = 0;
        float max = 0;
        foreach (float v in x)
        {
            // First value of largest magnitude wins ties, as in ggml.
            if (amax < MathF.Abs(v))
            {
                amax = MathF.Abs(v);
                max = v;
            }
        }

        float d = max / -8f;
        float id = d != 0f ? 1f / d : 0f;
        for (int i = 0; i < x.Length; i++)
        {
            float x0 = x[i] * id;
            float t = x0 + 8.5f;

            // ggml casts to int8 (truncation); NaN, which C leaves undefined, gives 0 here.
            codes[i] = t >= 15f ? (byte)15 : t >= 0f ? (byte)(int)t : (byte)0;
        }

        return HalfBits.FromSingle(d);
    }
}
