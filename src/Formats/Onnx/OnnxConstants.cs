using System.Runtime.InteropServices;
using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Onnx;

/// <summary>The value of a <c>Constant</c> node, whichever of its attribute forms the model uses.</summary>
public static class OnnxConstants
{
    /// <summary>
    /// The tensor a <c>Constant</c> node produces: its <c>value</c> tensor, or a tensor built from <c>value_float</c>,
    /// <c>value_int</c> (scalars), <c>value_floats</c> or <c>value_ints</c> (1-D), as opset 12 added them.
    /// </summary>
    /// <exception cref="InvalidInputFileException">The node is not a Constant, or has none or several of these attributes.</exception>
    /// <exception cref="UnsupportedFeatureException">A string or sparse value.</exception>
    public static OnnxTensor Value(OnnxNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node.OpType != "Constant" || node.Domain.Length != 0)
        {
            throw new ArgumentException($"{node} is not a Constant node.", nameof(node));
        }

        OnnxAttributes attributes = node.Attributes;
        if (attributes.Count != 1)
        {
            throw attributes.Error(attributes.Count == 0 ? "value" : attributes[1].Name,
                $"is one of {attributes.Count} attributes; a Constant node has exactly one");
        }

        OnnxAttribute a = attributes[0];
        string name = node.Outputs.Count > 0 && node.Outputs[0].Length > 0 ? node.Outputs[0] : node.DisplayName;
        return a.Name switch
        {
            "value" => attributes.GetTensor("value"),
            "value_float" => Make(name, OnnxDataType.Float, DType.F32, Shape.Scalar, [attributes.GetFloat("value_float")]),
            "value_floats" => Make(name, OnnxDataType.Float, DType.F32, new Shape(a.Floats.Count), attributes.GetFloats("value_floats").ToArray()),
            "value_int" => Make(name, OnnxDataType.Int64, DType.I64, Shape.Scalar, [attributes.GetInt("value_int")]),
            "value_ints" => Make(name, OnnxDataType.Int64, DType.I64, new Shape(a.Ints.Count), attributes.GetInts("value_ints").ToArray()),
            "value_string" or "value_strings" => throw attributes.Unsupported(a.Name, "is a string constant, which is not supported"),
            "sparse_value" => throw attributes.Unsupported(a.Name, "is a sparse constant, which is not supported"),
            _ => throw attributes.Error(a.Name, "is not an attribute of Constant"),
        };
    }

    private static OnnxTensor Make<T>(string name, OnnxDataType type, DType dtype, Shape shape, T[] values)
        where T : unmanaged =>
        OnnxTensor.Decoded(name, type, dtype, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
}
