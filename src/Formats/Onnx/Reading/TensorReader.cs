using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Onnx.Protobuf;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Onnx.Reading;

/// <summary>
/// Converts a <c>TensorProto</c> into an <see cref="OnnxTensor"/>. The data type, dims and the size of the data
/// (inline <c>raw_data</c>, typed fields or an external range) are checked against each other before anything is
/// allocated; errors name the model file and the tensor.
/// </summary>
internal static class TensorReader
{
    private const string SeveralTypedFields = "several typed fields";

    public static OnnxTensor Read(TensorProto proto, ScannedTensor scan, string name, ReadContext context)
    {
        string path = context.Path;
        if (!proto.HasDataType || proto.DataType == 0)
        {
            throw new InvalidInputFileException(path, name, "has no data type");
        }

        if (!OnnxDataTypes.IsDefined(proto.DataType))
        {
            throw new InvalidInputFileException(path, name, $"has unknown data type {proto.DataType}");
        }

        var type = (OnnxDataType)proto.DataType;
        if (!type.TryGetDType(out DType dtype))
        {
            throw new UnsupportedFeatureException(path, name, $"data type {type.Name()} is not supported");
        }

        Shape shape = ReadShape(proto, name, path);
        if (!dtype.TryByteSize(shape.ElementCount, out long byteSize))
        {
            throw new InvalidInputFileException(path, name, $"dims {shape} of {type.Name()} need more than 2^63 bytes");
        }

        if (proto.Segment is not null)
        {
            throw new UnsupportedFeatureException(path, name, "is stored in segments, which are not supported");
        }

        bool external = proto.HasDataLocation && proto.DataLocation == (int)TensorProto.Types.DataLocation.External;
        if (proto.HasDataLocation && proto.DataLocation is not (0 or 1))
        {
            throw new InvalidInputFileException(path, name, $"has unknown data_location {proto.DataLocation}");
        }

        if (proto.ExternalData.Count > 0 && !external)
        {
            throw new InvalidInputFileException(path, name, "has external_data entries but its data_location is not EXTERNAL");
        }

        string? typedField = TypedFieldInUse(proto);
        if (typedField == SeveralTypedFields)
        {
            throw new InvalidInputFileException(path, name, "holds values in more than one typed field");
        }

        int sources = (external ? 1 : 0) + (scan.HasRaw ? 1 : 0) + (typedField is null ? 0 : 1);
        if (sources > 1)
        {
            throw new InvalidInputFileException(path, name,
                $"holds data in more than one place ({string.Join(", ", new[] { external ? "external data" : null, scan.HasRaw ? "raw_data" : null, typedField }.OfType<string>())})");
        }

        if (external)
        {
            return ReadExternal(proto, name, type, dtype, shape, byteSize, context);
        }

        if (scan.HasRaw)
        {
            if (scan.RawLength != byteSize)
            {
                throw new InvalidInputFileException(path, name,
                    $"raw_data holds {scan.RawLength} bytes but {type.Name()} dims {shape} need {byteSize}");
            }

            return OnnxTensor.Mapped(name, type, dtype, shape, context.Map, scan.RawOffset, external: false);
        }

        if (typedField is null)
        {
            if (byteSize != 0)
            {
                throw new InvalidInputFileException(path, name, $"has no data but {type.Name()} dims {shape} need {byteSize} bytes");
            }

            return OnnxTensor.Decoded(name, type, dtype, shape, []);
        }

        return OnnxTensor.Decoded(name, type, dtype, shape, DecodeTyped(proto, typedField, name, type, dtype, shape, byteSize, path));
    }

    private static Shape ReadShape(TensorProto proto, string name, string path)
    {
        if (proto.Dims.Count > Shape.MaxRank)
        {
            throw new UnsupportedFeatureException(path, name, $"rank {proto.Dims.Count} is above the supported maximum of {Shape.MaxRank}");
        }

        Span<long> dims = stackalloc long[proto.Dims.Count];
        for (int i = 0; i < dims.Length; i++)
        {
            dims[i] = proto.Dims[i];
        }

        if (!Shape.TryCreate(dims, out Shape shape, out string? error))
        {
            throw new InvalidInputFileException(path, name, $"invalid dims [{string.Join(", ", proto.Dims)}]: {error}");
        }

        return shape;
    }

    private static OnnxTensor ReadExternal(TensorProto proto, string name, OnnxDataType type, DType dtype, Shape shape, long byteSize, ReadContext context)
    {
        string path = context.Path;
        string? location = null;
        long offset = 0;
        long? length = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (StringStringEntryProto e in proto.ExternalData)
        {
            if (!seen.Add(e.Key))
            {
                throw new InvalidInputFileException(path, name, $"external_data gives '{e.Key}' twice");
            }

            switch (e.Key)
            {
                case "location":
                    location = e.Value;
                    break;
                case "offset":
                    offset = ParseSize(e.Value, "offset", name, path);
                    break;
                case "length":
                    length = ParseSize(e.Value, "length", name, path);
                    break;
                default:
                    // "checksum" and keys of later IR versions do not change where the bytes are.
                    break;
            }
        }

        if (location is null)
        {
            throw new InvalidInputFileException(path, name, "external_data has no 'location'");
        }

        if (length is { } declared && declared != byteSize)
        {
            throw new InvalidInputFileException(path, name,
                $"external_data length {declared} does not match the {byteSize} bytes {type.Name()} dims {shape} need");
        }

        MappedFile file = context.External.Open(location, name);
        if (offset > file.Length || byteSize > file.Length - offset)
        {
            throw new InvalidInputFileException(path, name,
                $"external data '{location}' declares bytes [{offset}, {offset + byteSize}) but the file holds only {file.Length} bytes");
        }

        return OnnxTensor.Mapped(name, type, dtype, shape, file, offset, external: true);
    }

    private static long ParseSize(string text, string key, string name, string path) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v)
            ? v
            : throw new InvalidInputFileException(path, name, $"external_data {key} '{text}' is not a non-negative integer");

    private static string? TypedFieldInUse(TensorProto p)
    {
        string? field = null;
        int count = 0;
        void Check(int n, string f)
        {
            if (n > 0)
            {
                field = f;
                count++;
            }
        }

        Check(p.FloatData.Count, "float_data");
        Check(p.Int32Data.Count, "int32_data");
        Check(p.Int64Data.Count, "int64_data");
        Check(p.DoubleData.Count, "double_data");
        Check(p.Uint64Data.Count, "uint64_data");
        Check(p.StringData.Count, "string_data");
        return count > 1 ? SeveralTypedFields : field;
    }

    /// <summary>Decodes a typed field into little-endian bytes; the count is checked before the buffer is allocated.</summary>
    private static byte[] DecodeTyped(TensorProto p, string field, string name, OnnxDataType type, DType dtype, Shape shape, long byteSize, string path)
    {
        string expected = dtype switch
        {
            DType.F32 => "float_data",
            DType.I64 => "int64_data",
            DType.F64 => "double_data",
            DType.U32 or DType.U64 => "uint64_data",
            _ => "int32_data",
        };
        if (field != expected)
        {
            throw new InvalidInputFileException(path, name, $"stores {type.Name()} values in {field}; the format puts them in {expected}");
        }

        int count = field switch
        {
            "float_data" => p.FloatData.Count,
            "int64_data" => p.Int64Data.Count,
            "double_data" => p.DoubleData.Count,
            "uint64_data" => p.Uint64Data.Count,
            _ => p.Int32Data.Count,
        };
        if (count != shape.ElementCount)
        {
            throw new InvalidInputFileException(path, name, $"{field} holds {count} values but dims {shape} need {shape.ElementCount}");
        }

        var bytes = new byte[byteSize];
        switch (dtype)
        {
            case DType.F32:
                CopyAll(p.FloatData, bytes);
                break;
            case DType.I64:
                CopyAll(p.Int64Data, bytes);
                break;
            case DType.F64:
                CopyAll(p.DoubleData, bytes);
                break;
            case DType.U64:
                CopyAll(p.Uint64Data, bytes);
                break;
            case DType.U32:
                for (int i = 0; i < count; i++)
                {
                    ulong v = p.Uint64Data[i];
                    BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), v <= uint.MaxValue ? (uint)v : throw OutOfRange(v, i));
                }

                break;
            case DType.I32:
                CopyAll(p.Int32Data, bytes);
                break;
            default:
                NarrowInt32(p, dtype, bytes, name, type, path);
                break;
        }

        return bytes;

        InvalidInputFileException OutOfRange(object value, int index) =>
            new(path, name, $"{field}[{index}] = {value} is out of range for {type.Name()}");
    }

    private static void CopyAll<T>(Google.Protobuf.Collections.RepeatedField<T> values, byte[] destination)
        where T : unmanaged
    {
        Span<T> target = MemoryMarshal.Cast<byte, T>(destination.AsSpan());
        for (int i = 0; i < values.Count; i++)
        {
            target[i] = values[i];
        }
    }

    /// <summary>int32_data holds INT8/UINT8/INT16/UINT16/BOOL values, and FLOAT16/BFLOAT16 bit patterns, one per int32.</summary>
    private static void NarrowInt32(TensorProto p, DType dtype, byte[] bytes, string name, OnnxDataType type, string path)
    {
        (long min, long max) = dtype switch
        {
            DType.I8 => (sbyte.MinValue, sbyte.MaxValue),
            DType.U8 => (byte.MinValue, byte.MaxValue),
            DType.Bool => (0, 1),
            DType.I16 => (short.MinValue, short.MaxValue),
            _ => (ushort.MinValue, ushort.MaxValue), // U16, F16 and BF16 bit patterns
        };
        int size = dtype.ElementSize();
        for (int i = 0; i < p.Int32Data.Count; i++)
        {
            int v = p.Int32Data[i];
            if (v < min || v > max)
            {
                throw new InvalidInputFileException(path, name, $"int32_data[{i}] = {v} is out of range for {type.Name()}");
            }

            if (size == 1)
            {
                bytes[i] = (byte)v;
            }
            else
            {
                BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), (ushort)v);
            }
        }
    }
}
