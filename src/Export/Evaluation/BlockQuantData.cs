using System.Buffers.Binary;
using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// The raw Q4_0 blocks of a block-quantized constant (tract's <c>BlockQuantValue</c>): per group of 32 consecutive
/// values of the row-major flattened tensor, an f16 scale and 16 bytes of 4-bit codes, <c>w = (code - 8) * scale</c>.
/// </summary>
public sealed class BlockQuantData
{
    /// <summary>Wraps blocks in the given nibble order.</summary>
    /// <exception cref="ArgumentException">Not a Q4_0 dtype, or a partial block.</exception>
    public BlockQuantData(DType format, byte[] blocks)
    {
        if (!format.IsBlockQuantized())
        {
            throw new ArgumentException($"{format.Name()} is not a block-quantized dtype.", nameof(format));
        }

        if (blocks.Length % DTypeInfo.Q40BlockBytes != 0)
        {
            throw new ArgumentException($"{blocks.Length} bytes is not a whole number of Q4_0 blocks.", nameof(blocks));
        }

        Format = format;
        Blocks = blocks;
    }

    /// <summary>Nibble order: <see cref="DType.Q40"/> (tract &gt;= 0.21.11) or <see cref="DType.Q40Legacy"/>.</summary>
    public DType Format { get; }

    /// <summary>Number of values held.</summary>
    public int ElementCount => Blocks.Length / DTypeInfo.Q40BlockBytes * DTypeInfo.Q40BlockElements;

    internal byte[] Blocks { get; }

    /// <summary>
    /// Dequantizes values <c>[start, start + destination.Length)</c> to f32, exactly as tract does
    /// (<c>(code - 8) * scale</c> is exact in f32). <paramref name="start"/> must be a multiple of 32.
    /// </summary>
    public void DequantizeF32(int start, Span<float> destination)
    {
        CheckRange(start, destination.Length);
        int block = start / DTypeInfo.Q40BlockElements;
        Span<byte> codes = stackalloc byte[DTypeInfo.Q40BlockElements];
        for (int done = 0; done < destination.Length; block++)
        {
            float scale = (float)ReadCodes(block, codes);
            int n = Math.Min(DTypeInfo.Q40BlockElements, destination.Length - done);
            for (int i = 0; i < n; i++)
            {
                destination[done + i] = (codes[i] - 8) * scale;
            }

            done += n;
        }
    }

    /// <summary>
    /// Dequantizes to f16 as tract's f16 kernels do: the exact product <c>(code - 8) * scale</c> rounded once to f16.
    /// </summary>
    public void DequantizeF16(int start, Span<Half> destination)
    {
        CheckRange(start, destination.Length);
        int block = start / DTypeInfo.Q40BlockElements;
        Span<byte> codes = stackalloc byte[DTypeInfo.Q40BlockElements];
        for (int done = 0; done < destination.Length; block++)
        {
            float scale = (float)ReadCodes(block, codes);
            int n = Math.Min(DTypeInfo.Q40BlockElements, destination.Length - done);
            for (int i = 0; i < n; i++)
            {
                destination[done + i] = (Half)((codes[i] - 8) * scale);
            }

            done += n;
        }
    }

    // Scalar reference of the two nibble orders (q40.md §1): new order byte j = code[j] | code[j+16] << 4,
    // legacy byte j = code[2j] | code[2j+1] << 4. Returns the block's f16 scale.
    private Half ReadCodes(int block, Span<byte> codes)
    {
        ReadOnlySpan<byte> b = Blocks.AsSpan(block * DTypeInfo.Q40BlockBytes, DTypeInfo.Q40BlockBytes);
        Half scale = BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(b));
        ReadOnlySpan<byte> nibbles = b[2..];
        for (int j = 0; j < 16; j++)
        {
            int lo = nibbles[j] & 0xF;
            int hi = nibbles[j] >> 4;
            if (Format == DType.Q40)
            {
                codes[j] = (byte)lo;
                codes[j + 16] = (byte)hi;
            }
            else
            {
                codes[2 * j] = (byte)lo;
                codes[(2 * j) + 1] = (byte)hi;
            }
        }

        return scale;
    }

    private void CheckRange(int start, int count)
    {
        if (start % DTypeInfo.Q40BlockElements != 0 || start < 0 || count < 0 || start > ElementCount - count)
        {
            throw new InvalidGraphException(null, $"Q4_0 range [{start}, {start + count}) is not block-aligned inside the {ElementCount} values");
        }
    }
}
