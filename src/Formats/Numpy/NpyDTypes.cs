using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Numpy;

/// <summary>numpy dtype strings (<c>descr</c>) for our element types: little-endian, or <c>|</c> for one byte.</summary>
public static class NpyDTypes
{
    /// <summary>The <c>descr</c> numpy writes for <paramref name="dtype"/>.</summary>
    public static bool TryGetDescr(DType dtype, out string descr)
    {
        descr = dtype switch
        {
            DType.F64 => "<f8",
            DType.F32 => "<f4",
            DType.F16 => "<f2",
            DType.I64 => "<i8",
            DType.I32 => "<i4",
            DType.I16 => "<i2",
            DType.I8 => "|i1",
            DType.U64 => "<u8",
            DType.U32 => "<u4",
            DType.U16 => "<u2",
            DType.U8 => "|u1",
            DType.Bool => "|b1",
            _ => string.Empty, // bf16 has no numpy dtype; Q4_0 blocks are not numpy arrays.
        };
        return descr.Length != 0;
    }

    /// <summary>
    /// Parses a <c>descr</c>. One-byte types accept any byte-order mark (it is meaningless for them); wider types
    /// must be little-endian (<c>&lt;</c>).
    /// </summary>
    /// <returns>The dtype, or null with <paramref name="why"/> saying what is not supported.</returns>
    public static DType? TryParse(string descr, out string? why)
    {
        why = null;
        if (descr.Length < 3 || descr[0] is not ('<' or '>' or '|' or '='))
        {
            why = $"dtype '{descr}' is not a plain numeric numpy dtype";
            return null;
        }

        DType? dtype = descr[1..] switch
        {
            "f8" => DType.F64,
            "f4" => DType.F32,
            "f2" => DType.F16,
            "i8" => DType.I64,
            "i4" => DType.I32,
            "i2" => DType.I16,
            "i1" => DType.I8,
            "u8" => DType.U64,
            "u4" => DType.U32,
            "u2" => DType.U16,
            "u1" => DType.U8,
            "b1" => DType.Bool,
            _ => null,
        };
        if (dtype is null)
        {
            why = $"dtype '{descr}' is not supported (numeric and bool only; bfloat16 has no numpy dtype)";
            return null;
        }

        if (dtype.Value.ElementSize() > 1 && descr[0] != '<')
        {
            why = $"dtype '{descr}' is not little-endian";
            return null;
        }

        return dtype;
    }
}
