using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Safetensors;

/// <summary>The dtype names of the safetensors format and how they map to <see cref="DType"/>.</summary>
public static class SafetensorsDTypes
{
    // Valid safetensors dtypes that have no DType of ours: reported as unsupported rather than malformed.
    private static readonly string[] KnownUnsupported =
        ["F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64"];

    /// <summary>The safetensors spelling of <paramref name="dtype"/> (<c>F32</c>, <c>BF16</c>, <c>BOOL</c>, ...).</summary>
    /// <exception cref="ArgumentException">A block-quantized dtype, which safetensors cannot hold.</exception>
    public static string Name(DType dtype) => dtype switch
    {
        DType.F64 => "F64",
        DType.F32 => "F32",
        DType.F16 => "F16",
        DType.BF16 => "BF16",
        DType.I64 => "I64",
        DType.I32 => "I32",
        DType.I16 => "I16",
        DType.I8 => "I8",
        DType.U64 => "U64",
        DType.U32 => "U32",
        DType.U16 => "U16",
        DType.U8 => "U8",
        DType.Bool => "BOOL",
        _ => throw new ArgumentException($"{dtype.Name()} has no safetensors dtype.", nameof(dtype)),
    };

    /// <summary>Parses a safetensors dtype name (case-sensitive, as the format requires).</summary>
    public static bool TryParse(string name, out DType dtype)
    {
        DType? parsed = name switch
        {
            "F64" => DType.F64,
            "F32" => DType.F32,
            "F16" => DType.F16,
            "BF16" => DType.BF16,
            "I64" => DType.I64,
            "I32" => DType.I32,
            "I16" => DType.I16,
            "I8" => DType.I8,
            "U64" => DType.U64,
            "U32" => DType.U32,
            "U16" => DType.U16,
            "U8" => DType.U8,
            "BOOL" => DType.Bool,
            _ => null,
        };
        dtype = parsed.GetValueOrDefault();
        return parsed.HasValue;
    }

    /// <summary>True for names the safetensors format defines but this product cannot represent (fp8, fp4, ...).</summary>
    public static bool IsKnownUnsupported(string name) => Array.IndexOf(KnownUnsupported, name) >= 0;
}
