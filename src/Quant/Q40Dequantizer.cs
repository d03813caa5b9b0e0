using System.Buffers;
using System.Runtime.InteropServices;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant;

/// <summary>
/// Dequantizes tract Q4_0 blocks: <c>w = (code - 8) * scale</c>. To f32 exactly as tract's f32 kernels do (the product
/// is exact), to f16 as tract's f16 kernels and <c>gather</c> with <c>datum_type = 'f16'</c> do (product rounded to
/// f16), and to bf16 as torch_to_nnef's reference decompression of a bf16 weight does (scale rounded to bf16, then
/// the product). Runs on the fastest SIMD kernel of the machine.
/// </summary>
public static class Q40Dequantizer
{
    private const int WindowGroups = 8192;

    /// <summary>Dequantizes whole Q4_0 blocks to f32.</summary>
    /// <exception cref="ArgumentException">Not whole blocks, or the destination is too short.</exception>
    public static void ToSingle(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        Check(blocks, destination.Length);
        Q40Kernels.DequantizeF32(Q40Kernels.Active, blocks, destination[..Values(blocks)]);
    }

    /// <summary>Dequantizes whole blocks to f16 (each product rounded to nearest-even; NaN canonical).</summary>
    public static void ToHalf(ReadOnlySpan<byte> blocks, Span<Half> destination)
    {
        Check(blocks, destination.Length);
        Q40Kernels.DequantizeF16(Q40Kernels.Active, blocks, MemoryMarshal.Cast<Half, ushort>(destination[..Values(blocks)]));
    }

    /// <summary>Dequantizes whole blocks to bf16 bits with torch_to_nnef's bf16 arithmetic.</summary>
    public static void ToBFloat16(ReadOnlySpan<byte> blocks, Span<ushort> destination)
    {
        Check(blocks, destination.Length);
        for (int g = 0; g < blocks.Length / Q40Format.BlockBytes; g++)
        {
            Q40Reference.DequantizeBF16(
                blocks.Slice(g * Q40Format.BlockBytes, Q40Format.BlockBytes),
                destination.Slice(g * Q40Format.GroupSize, Q40Format.GroupSize));
        }
    }

    /// <summary>
    /// Dequantizes a Q4_0 tensor into a new owned tensor of <paramref name="output"/> (F32, F16 or BF16) with the same
    /// shape. The source is read a window at a time when it is not already in memory.
    /// </summary>
    /// <exception cref="ArgumentException">The tensor is not Q4_0 or the output dtype is not F32, F16 or BF16.</exception>
    public static Tensor Dequantize(Tensor quantized, DType output = DType.F32)
    {
        ArgumentNullException.ThrowIfNull(quantized);
        if (!quantized.DType.IsBlockQuantized())
        {
            throw new ArgumentException($"{quantized} is not a Q4_0 tensor.", nameof(quantized));
        }

        if (output is not (DType.F32 or DType.F16 or DType.BF16))
        {
            throw new ArgumentException($"Q4_0 dequantizes to f32, f16 or bf16, not {output.Name()}.", nameof(output));
        }

        OwnedTensorData data = OwnedTensorData.Allocate(output.ByteSize(quantized.ElementCount), clear: false);
        try
        {
            long groups = quantized.ElementCount / Q40Format.GroupSize;
            int es = output.ElementSize();
            byte[] window = ArrayPool<byte>.Shared.Rent(WindowGroups * Q40Format.BlockBytes);
            try
            {
                for (long g0 = 0; g0 < groups; g0 += WindowGroups)
                {
                    int n = (int)Math.Min(WindowGroups, groups - g0);
                    Span<byte> blocks = window.AsSpan(0, n * Q40Format.BlockBytes);
                    quantized.Data.Read(g0 * Q40Format.BlockBytes, blocks);
                    Span<byte> dst = data.Span.Slice((int)(g0 * Q40Format.GroupSize * es), n * Q40Format.GroupSize * es);
                    switch (output)
                    {
                        case DType.F32:
                            ToSingle(blocks, MemoryMarshal.Cast<byte, float>(dst));
                            break;
                        case DType.F16:
                            ToHalf(blocks, MemoryMarshal.Cast<byte, Half>(dst));
                            break;
                        default:
                            ToBFloat16(blocks, MemoryMarshal.Cast<byte, ushort>(dst));
                            break;
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(window);
            }

            return new Tensor(output, quantized.Shape, data);
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    private static int Values(ReadOnlySpan<byte> blocks) => blocks.Length / Q40Format.BlockBytes * Q40Format.GroupSize;

    private static void Check(ReadOnlySpan<byte> blocks, int destinationLength)
    {
        if (blocks.Length % Q40Format.BlockBytes != 0)
        {
            throw new ArgumentException($"{blocks.Length} bytes is not a whole number of {Q40Format.BlockBytes}-byte Q4_0 blocks.", nameof(blocks));
        }

        if (destinationLength < Values(blocks))
        {
            throw new ArgumentException($"Destination holds {destinationLength} values, {Values(blocks)} needed.", "destination");
        }
    }
}
