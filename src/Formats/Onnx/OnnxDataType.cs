using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Onnx;

/// <summary>
/// Element types of ONNX tensors, with the numbers the format stores (<c>TensorProto.DataType</c>). Every value the
/// specification defines up to IR version 11 is listed, so that a type we cannot convert is reported by name
/// (unsupported) and only a number outside this list is reported as unknown (malformed).
/// </summary>
public enum OnnxDataType
{
    /// <summary>No type given.</summary>
    Undefined = 0,
    /// <summary>IEEE binary32.</summary>
    Float = 1,
    /// <summary>Unsigned 8-bit integer.</summary>
    UInt8 = 2,
    /// <summary>Signed 8-bit integer.</summary>
    Int8 = 3,
    /// <summary>Unsigned 16-bit integer.</summary>
    UInt16 = 4,
    /// <summary>Signed 16-bit integer.</summary>
    Int16 = 5,
    /// <summary>Signed 32-bit integer.</summary>
    Int32 = 6,
    /// <summary>Signed 64-bit integer.</summary>
    Int64 = 7,
    /// <summary>UTF-8 strings (not supported).</summary>
    String = 8,
    /// <summary>Boolean, one byte per element.</summary>
    Bool = 9,
    /// <summary>IEEE binary16.</summary>
    Float16 = 10,
    /// <summary>IEEE binary64.</summary>
    Double = 11,
    /// <summary>Unsigned 32-bit integer.</summary>
    UInt32 = 12,
    /// <summary>Unsigned 64-bit integer.</summary>
    UInt64 = 13,
    /// <summary>Complex of two binary32 (not supported).</summary>
    Complex64 = 14,
    /// <summary>Complex of two binary64 (not supported).</summary>
    Complex128 = 15,
    /// <summary>bfloat16.</summary>
    BFloat16 = 16,
    /// <summary>8-bit float E4M3, finite only (not supported).</summary>
    Float8E4M3FN = 17,
    /// <summary>8-bit float E4M3, finite, no negative zero (not supported).</summary>
    Float8E4M3FNUZ = 18,
    /// <summary>8-bit float E5M2 (not supported).</summary>
    Float8E5M2 = 19,
    /// <summary>8-bit float E5M2, finite, no negative zero (not supported).</summary>
    Float8E5M2FNUZ = 20,
    /// <summary>Unsigned 4-bit integer, packed two per byte (not supported).</summary>
    UInt4 = 21,
    /// <summary>Signed 4-bit integer, packed two per byte (not supported).</summary>
    Int4 = 22,
    /// <summary>4-bit float E2M1 (not supported).</summary>
    Float4E2M1 = 23,
    /// <summary>8-bit exponent-only float E8M0 (not supported).</summary>
    Float8E8M0 = 24,
    /// <summary>Unsigned 2-bit integer (not supported).</summary>
    UInt2 = 25,
    /// <summary>Signed 2-bit integer (not supported).</summary>
    Int2 = 26,
}

/// <summary>Names of <see cref="OnnxDataType"/> values and their mapping to our <see cref="DType"/>.</summary>
public static class OnnxDataTypes
{
    /// <summary>True when <paramref name="value"/> is a data type the ONNX specification defines (0 excluded).</summary>
    public static bool IsDefined(int value) => value is >= (int)OnnxDataType.Float and <= (int)OnnxDataType.Int2;

    /// <summary>The specification's spelling (<c>FLOAT</c>, <c>INT64</c>, ...), or the number for unknown values.</summary>
    public static string Name(this OnnxDataType type) => type switch
    {
        OnnxDataType.Undefined => "UNDEFINED",
        OnnxDataType.Float => "FLOAT",
        OnnxDataType.UInt8 => "UINT8",
        OnnxDataType.Int8 => "INT8",
        OnnxDataType.UInt16 => "UINT16",
        OnnxDataType.Int16 => "INT16",
        OnnxDataType.Int32 => "INT32",
        OnnxDataType.Int64 => "INT64",
        OnnxDataType.String => "STRING",
        OnnxDataType.Bool => "BOOL",
        OnnxDataType.Float16 => "FLOAT16",
        OnnxDataType.Double => "DOUBLE",
        OnnxDataType.UInt32 => "UINT32",
        OnnxDataType.UInt64 => "UINT64",
        OnnxDataType.Complex64 => "COMPLEX64",
        OnnxDataType.Complex128 => "COMPLEX128",
        OnnxDataType.BFloat16 => "BFLOAT16",
        OnnxDataType.Float8E4M3FN => "FLOAT8E4M3FN",
        OnnxDataType.Float8E4M3FNUZ => "FLOAT8E4M3FNUZ",
        OnnxDataType.Float8E5M2 => "FLOAT8E5M2",
        OnnxDataType.Float8E5M2FNUZ => "FLOAT8E5M2FNUZ",
        OnnxDataType.UInt4 => "UINT4",
        OnnxDataType.Int4 => "INT4",
        OnnxDataType.Float4E2M1 => "FLOAT4E2M1",
        OnnxDataType.Float8E8M0 => "FLOAT8E8M0",
        OnnxDataType.UInt2 => "UINT2",
        OnnxDataType.Int2 => "INT2",
        _ => ((int)type).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Our dtype for an ONNX element type, when we have one.</summary>
    public static bool TryGetDType(this OnnxDataType type, out DType dtype)
    {
        DType? mapped = type switch
        {
            OnnxDataType.Float => DType.F32,
            OnnxDataType.UInt8 => DType.U8,
            OnnxDataType.Int8 => DType.I8,
            OnnxDataType.UInt16 => DType.U16,
            OnnxDataType.Int16 => DType.I16,
            OnnxDataType.Int32 => DType.I32,
            OnnxDataType.Int64 => DType.I64,
            OnnxDataType.Bool => DType.Bool,
            OnnxDataType.Float16 => DType.F16,
            OnnxDataType.Double => DType.F64,
            OnnxDataType.UInt32 => DType.U32,
            OnnxDataType.UInt64 => DType.U64,
            OnnxDataType.BFloat16 => DType.BF16,
            _ => null,
        };
        dtype = mapped.GetValueOrDefault();
        return mapped.HasValue;
    }

    /// <summary>The ONNX element type of <paramref name="dtype"/>.</summary>
    /// <exception cref="ArgumentException">A block-quantized dtype, which ONNX cannot hold.</exception>
    public static OnnxDataType FromDType(DType dtype) => dtype switch
    {
        DType.F32 => OnnxDataType.Float,
        DType.U8 => OnnxDataType.UInt8,
        DType.I8 => OnnxDataType.Int8,
        DType.U16 => OnnxDataType.UInt16,
        DType.I16 => OnnxDataType.Int16,
        DType.I32 => OnnxDataType.Int32,
        DType.I64 => OnnxDataType.Int64,
        DType.Bool => OnnxDataType.Bool,
        DType.F16 => OnnxDataType.Float16,
        DType.F64 => OnnxDataType.Double,
        DType.U32 => OnnxDataType.UInt32,
        DType.U64 => OnnxDataType.UInt64,
        DType.BF16 => OnnxDataType.BFloat16,
        _ => throw new ArgumentException($"{dtype.Name()} has no ONNX data type.", nameof(dtype)),
    };
}
