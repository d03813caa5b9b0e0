using Google.Protobuf;
using TorchToNnef.Formats.Onnx.Protobuf;

namespace TorchToNnef.OnnxTestSupport;

/// <summary>An attribute for <see cref="OnnxGraphBuilder.Node"/>: <c>OnnxAttr.Int("axis", 1)</c>, <c>OnnxAttr.Ints("pads", 0, 0, 1, 1)</c>, ...</summary>
public sealed class OnnxAttr
{
    private OnnxAttr(AttributeProto proto) => Proto = proto;

    internal AttributeProto Proto { get; }

    /// <summary>An INT attribute.</summary>
    public static OnnxAttr Int(string name, long value) => new(new AttributeProto { Name = name, Type = (int)AttributeProto.Types.AttributeType.Int, I = value });

    /// <summary>A FLOAT attribute.</summary>
    public static OnnxAttr Float(string name, float value) => new(new AttributeProto { Name = name, Type = (int)AttributeProto.Types.AttributeType.Float, F = value });

    /// <summary>A STRING attribute.</summary>
    public static OnnxAttr String(string name, string value) =>
        new(new AttributeProto { Name = name, Type = (int)AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) });

    /// <summary>An INTS attribute.</summary>
    public static OnnxAttr Ints(string name, params long[] values)
    {
        var p = new AttributeProto { Name = name, Type = (int)AttributeProto.Types.AttributeType.Ints };
        p.Ints.AddRange(values);
        return new(p);
    }

    /// <summary>A FLOATS attribute.</summary>
    public static OnnxAttr Floats(string name, params float[] values)
    {
        var p = new AttributeProto { Name = name, Type = (int)AttributeProto.Types.AttributeType.Floats };
        p.Floats.AddRange(values);
        return new(p);
    }

    /// <summary>A STRINGS attribute.</summary>
    public static OnnxAttr Strings(string name, params string[] values)
    {
        var p = new AttributeProto { Name = name, Type = (int)AttributeProto.Types.AttributeType.Strings };
        p.Strings.AddRange(values.Select(ByteString.CopyFromUtf8));
        return new(p);
    }

    /// <summary>A TENSOR attribute (e.g. <c>Constant</c>'s <c>value</c>).</summary>
    public static OnnxAttr Tensor(string name, OnnxTensorSpec tensor) =>
        new(new AttributeProto { Name = name, Type = (int)AttributeProto.Types.AttributeType.Tensor, T = tensor.ToProto() });

    /// <summary>A GRAPH attribute (e.g. <c>If</c>'s branches).</summary>
    public static OnnxAttr Graph(string name, OnnxGraphBuilder graph) =>
        new(new AttributeProto { Name = name, Type = (int)AttributeProto.Types.AttributeType.Graph, G = graph.Proto });

    /// <summary>An attribute with an arbitrary <c>type</c> number and no value, for malformed-file tests.</summary>
    public static OnnxAttr RawType(string name, int type) => new(new AttributeProto { Name = name, Type = type });
}
