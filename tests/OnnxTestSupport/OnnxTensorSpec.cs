using System.Runtime.InteropServices;
using Google.Protobuf;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Formats.Onnx.Protobuf;

namespace TorchToNnef.OnnxTestSupport;

/// <summary>How a test tensor's values are written.</summary>
public enum OnnxTensorEncoding
{
    /// <summary>Inline <c>raw_data</c> (what PyTorch writes).</summary>
    Raw,
    /// <summary>The typed field of the data type (<c>float_data</c>, <c>int32_data</c> for 8/16-bit types, ...).</summary>
    Typed,
}

/// <summary>
/// A tensor to write into a test model: name, ONNX data type, dims and little-endian bytes, encoded as raw_data or
/// typed fields. Fields can be overridden to make malformed tensors (wrong sizes, unknown types, external data).
/// </summary>
public sealed class OnnxTensorSpec
{
    /// <summary>Creates a spec from the bytes of the values.</summary>
    public OnnxTensorSpec(string name, OnnxDataType type, long[] dims, byte[] bytes, OnnxTensorEncoding encoding = OnnxTensorEncoding.Raw)
    {
        Name = name;
        DataType = (int)type;
        Dims = dims;
        Bytes = bytes;
        Encoding = encoding;
    }

    /// <summary>Tensor name.</summary>
    public string Name { get; set; }

    /// <summary>The <c>data_type</c> number written (any int, to test unknown types).</summary>
    public int DataType { get; set; }

    /// <summary>Dims written.</summary>
    public long[] Dims { get; set; }

    /// <summary>Values as little-endian bytes.</summary>
    public byte[] Bytes { get; set; }

    /// <summary>How the values are stored.</summary>
    public OnnxTensorEncoding Encoding { get; set; }

    /// <summary>When set, the tensor is written as external data with these key/value entries and no inline data.</summary>
    public IReadOnlyList<(string Key, string Value)>? ExternalData { get; set; }

    /// <summary>An f32 tensor.</summary>
    public static OnnxTensorSpec Floats(string name, float[] values, params long[] dims) =>
        new(name, OnnxDataType.Float, dims, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>An i64 tensor.</summary>
    public static OnnxTensorSpec Int64s(string name, long[] values, params long[] dims) =>
        new(name, OnnxDataType.Int64, dims, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>A tensor of any element type from its values' bytes.</summary>
    public static OnnxTensorSpec Of<T>(string name, OnnxDataType type, T[] values, params long[] dims)
        where T : unmanaged =>
        new(name, type, dims, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>Builds the TensorProto (raw_data is added as a field our read-side .proto leaves undeclared).</summary>
    internal TensorProto ToProto()
    {
        var p = new TensorProto { Name = Name, DataType = DataType };
        p.Dims.AddRange(Dims);
        if (ExternalData is not null)
        {
            p.DataLocation = (int)TensorProto.Types.DataLocation.External;
            foreach ((string k, string v) in ExternalData)
            {
                p.ExternalData.Add(new StringStringEntryProto { Key = k, Value = v });
            }

            return p;
        }

        if (Encoding == OnnxTensorEncoding.Typed)
        {
            FillTyped(p);
            return p;
        }

        return WithRawData(p, Bytes);
    }

    /// <summary>
    /// Appends field 9 (raw_data) to a serialized tensor and parses it back without discarding unknown fields, so the
    /// message carries the field and writes it out again.
    /// </summary>
    internal static TensorProto WithRawData(TensorProto p, ReadOnlySpan<byte> raw)
    {
        using var stream = new MemoryStream();
        p.WriteTo(stream);
        var output = new CodedOutputStream(stream, leaveOpen: true);
        output.WriteTag(9, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(raw));
        output.Flush();
        return TensorProto.Parser.ParseFrom(stream.ToArray());
    }

    private void FillTyped(TensorProto p)
    {
        ReadOnlySpan<byte> b = Bytes;
        switch ((OnnxDataType)DataType)
        {
            case OnnxDataType.Float:
                p.FloatData.AddRange(MemoryMarshal.Cast<byte, float>(b).ToArray());
                break;
            case OnnxDataType.Double:
                p.DoubleData.AddRange(MemoryMarshal.Cast<byte, double>(b).ToArray());
                break;
            case OnnxDataType.Int64:
                p.Int64Data.AddRange(MemoryMarshal.Cast<byte, long>(b).ToArray());
                break;
            case OnnxDataType.Int32:
                p.Int32Data.AddRange(MemoryMarshal.Cast<byte, int>(b).ToArray());
                break;
            case OnnxDataType.UInt64:
                p.Uint64Data.AddRange(MemoryMarshal.Cast<byte, ulong>(b).ToArray());
                break;
            case OnnxDataType.UInt32:
                p.Uint64Data.AddRange(MemoryMarshal.Cast<byte, uint>(b).ToArray().Select(v => (ulong)v));
                break;
            case OnnxDataType.Int8:
                p.Int32Data.AddRange(MemoryMarshal.Cast<byte, sbyte>(b).ToArray().Select(v => (int)v));
                break;
            case OnnxDataType.UInt8 or OnnxDataType.Bool:
                p.Int32Data.AddRange(b.ToArray().Select(v => (int)v));
                break;
            case OnnxDataType.Int16:
                p.Int32Data.AddRange(MemoryMarshal.Cast<byte, short>(b).ToArray().Select(v => (int)v));
                break;
            case OnnxDataType.UInt16 or OnnxDataType.Float16 or OnnxDataType.BFloat16:
                p.Int32Data.AddRange(MemoryMarshal.Cast<byte, ushort>(b).ToArray().Select(v => (int)v));
                break;
            default:
                throw new ArgumentException($"No typed encoding for data type {DataType}.");
        }
    }
}
