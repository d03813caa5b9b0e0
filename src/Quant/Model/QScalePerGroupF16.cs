using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.Quant.Model;

/// <summary>
/// torch_to_nnef's <c>QScalePerGroupF16</c> scheme: one f16 scale per group of <see cref="GroupSize"/> values,
/// unsigned <see cref="Bits"/>-bit codes, <c>w = (code - 2^(bits-1)) * scale</c>. Scales are kept as f16 bit patterns.
/// </summary>
public sealed class QScalePerGroupF16
{
    private readonly ushort[] _scales;

    /// <summary>Creates the scheme from scale bits (one per group).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A group size below 1 or a bit width outside 1..8.</exception>
    public QScalePerGroupF16(ReadOnlySpan<ushort> scaleBits, int groupSize = Q40Format.GroupSize, int bits = Q40Format.CodeBits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(groupSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(bits, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bits, 8);
        _scales = scaleBits.ToArray();
        GroupSize = groupSize;
        Bits = bits;
    }

    /// <summary>Values per group.</summary>
    public int GroupSize { get; }

    /// <summary>Bits per code.</summary>
    public int Bits { get; }

    /// <summary>The code that means zero: <c>2^(bits-1)</c> (8 for 4 bits).</summary>
    public int Offset => 1 << (Bits - 1);

    /// <summary>Scales as f16 bit patterns, one per group.</summary>
    public ReadOnlySpan<ushort> ScaleBits => _scales;

    /// <summary>Number of groups.</summary>
    public int GroupCount => _scales.Length;

    /// <summary>
    /// Dequantizes <paramref name="codes"/> (one byte per value, starting at value <paramref name="firstValue"/>,
    /// a multiple of the group size) in f32: <c>(code - offset) * f32(scale)</c>, exact.
    /// </summary>
    public void Dequantize(ReadOnlySpan<byte> codes, long firstValue, Span<float> destination)
    {
        if (firstValue % GroupSize != 0)
        {
            throw new ArgumentException("The window must start at a group boundary.", nameof(firstValue));
        }

        long group = firstValue / GroupSize;
        for (int i = 0; i < codes.Length; i++)
        {
            float scale = HalfBits.ToSingle(_scales[group + (i / GroupSize)]);
            destination[i] = (codes[i] - Offset) * scale;
        }
    }
}
