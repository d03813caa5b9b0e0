using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant;

/// <summary>
/// The rules of tract's Q4_0 ("Q40") weight format as torch_to_nnef writes it: groups of 32 consecutive values of the
/// row-major flattened tensor, each stored as an f16 scale and 16 bytes of 4-bit codes (<c>w = (code - 8) * scale</c>)
/// in the GGML nibble order. That is the only form Quant knows; the legacy nibble order of tract &lt;= 0.21.10 is a
/// <c>.dat</c> encoding that the NNEF reader and writer convert to and from.
/// </summary>
public static class Q40Format
{
    /// <summary>Values per group ("block").</summary>
    public const int GroupSize = DTypeInfo.Q40BlockElements;

    /// <summary>Bytes per stored block: a little-endian f16 scale then <see cref="CodeBytes"/> bytes of nibbles.</summary>
    public const int BlockBytes = DTypeInfo.Q40BlockBytes;

    /// <summary>Bytes of packed 4-bit codes per block.</summary>
    public const int CodeBytes = GroupSize / 2;

    /// <summary>Bits per code.</summary>
    public const int CodeBits = 4;

    /// <summary>
    /// True when a tensor can be quantized the way torch_to_nnef does it: dtype f32, f16 or bf16, rank 2 to 4, and a
    /// row (the volume of every dimension after the first) that is a multiple of 32. Otherwise <paramref name="reason"/>
    /// says why.
    /// </summary>
    public static bool IsEligible(DType dtype, Shape shape, out string? reason)
    {
        if (dtype is not (DType.F32 or DType.F16 or DType.BF16))
        {
            reason = $"only f32, f16 and bf16 weights can be quantized to Q4_0, found {dtype.Name()}";
            return false;
        }

        if (shape.Rank is < 2 or > 4)
        {
            reason = $"tract Q4_0 only supports weights of rank 2, 3 or 4, found shape {shape}";
            return false;
        }

        long row = shape.VolumeFrom(1);
        if (row % GroupSize != 0)
        {
            reason = $"tract Q4_0 needs rows (the dimensions after the first, {FormatDims(shape)} = {row} values) whose size is a multiple of {GroupSize}";
            return false;
        }

        reason = null;
        return true;
    }

    /// <summary>Throws the product's impossible-quantization error when <see cref="IsEligible"/> is false.</summary>
    /// <exception cref="ImpossibleQuantizationException">The tensor cannot be stored as Q4_0.</exception>
    public static void ThrowIfIneligible(DType dtype, Shape shape, string? tensorName)
    {
        if (!IsEligible(dtype, shape, out string? reason))
        {
            throw new ImpossibleQuantizationException(tensorName, reason!);
        }
    }

    private static string FormatDims(Shape shape) => "[" + string.Join(", ", shape.Dims[1..].ToArray()) + "]";
}
