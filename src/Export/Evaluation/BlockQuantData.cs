using TorchToNnef.Errors;
using TorchToNnef.Quant;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// The raw Q4_0 blocks of a block-quantized constant (tract's <c>BlockQuantValue</c>): per group of 32 consecutive
/// values of the row-major flattened tensor, an f16 scale and 16 bytes of 4-bit codes, <c>w = (code - 8) * scale</c>.
/// </summary>
public sealed class BlockQuantData
{
    /// <summary>Wraps <see cref="DType.Q40"/> blocks (GGML nibble order, the one Q4_0 form in memory).</summary>
    /// <exception cref="ArgumentException">A partial block.</exception>
    public BlockQuantData(byte[] blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Length % DTypeInfo.Q40BlockBytes != 0)
        {
            throw new ArgumentException($"{blocks.Length} bytes is not a whole number of Q4_0 blocks.", nameof(blocks));
        }

        Blocks = blocks;
    }

    /// <summary>Number of values held.</summary>
    public int ElementCount => Blocks.Length / DTypeInfo.Q40BlockBytes * DTypeInfo.Q40BlockElements;

    internal byte[] Blocks { get; }

    /// <summary>
    /// Dequantizes values <c>[start, start + destination.Length)</c> to f32, exactly as tract does
    /// (<c>(code - 8) * scale</c> is exact in f32). Both bounds must fall on 32-value block boundaries.
    /// </summary>
    public void DequantizeF32(int start, Span<float> destination)
    {
        CheckRange(start, destination.Length);
        Q40Dequantizer.ToSingle(BlocksOf(start, destination.Length), destination);
    }

    /// <summary>
    /// Dequantizes to f16 as tract's f16 kernels and <c>gather(datum_type = 'f16')</c> do: the exact product
    /// <c>(code - 8) * scale</c> rounded once to f16.
    /// </summary>
    public void DequantizeF16(int start, Span<Half> destination)
    {
        CheckRange(start, destination.Length);
        Q40Dequantizer.ToHalf(BlocksOf(start, destination.Length), destination);
    }

    private ReadOnlySpan<byte> BlocksOf(int start, int count) =>
        Blocks.AsSpan(start / DTypeInfo.Q40BlockElements * DTypeInfo.Q40BlockBytes, count / DTypeInfo.Q40BlockElements * DTypeInfo.Q40BlockBytes);

    private void CheckRange(int start, int count)
    {
        if (start % DTypeInfo.Q40BlockElements != 0 || count % DTypeInfo.Q40BlockElements != 0 || start < 0 || count < 0 || start > ElementCount - count)
        {
            throw new InvalidGraphException(null, $"Q4_0 range [{start}, {start + count}) is not block-aligned inside the {ElementCount} values");
        }
    }
}
