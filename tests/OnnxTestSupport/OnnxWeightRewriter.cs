using System.Runtime.InteropServices;
using Google.Protobuf;
using TorchToNnef.Formats.Onnx.Protobuf;

namespace TorchToNnef.OnnxTestSupport;

/// <summary>
/// Writes a copy of an ONNX model with some f32 initializers (of the main graph and of every subgraph) replaced: e.g. by
/// their Q4_0-dequantized values, so that ONNX Runtime computes what a compressed archive should compute.
/// </summary>
public static class OnnxWeightRewriter
{
    /// <summary>
    /// Copies <paramref name="source"/> to <paramref name="destination"/>, passing every inline f32 initializer (name,
    /// values, dims) to <paramref name="replace"/>, which returns the new values or null to keep them. Returns the names
    /// replaced.
    /// </summary>
    public static IReadOnlyList<string> Rewrite(string source, string destination, Func<string, float[], long[], float[]?> replace)
    {
        ArgumentNullException.ThrowIfNull(replace);
        ModelProto model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(source));
        var replaced = new List<string>();
        Walk(model.Graph, replace, replaced);
        File.WriteAllBytes(destination, model.ToByteArray());
        return replaced;
    }

    private static void Walk(GraphProto graph, Func<string, float[], long[], float[]?> replace, List<string> replaced)
    {
        for (int i = 0; i < graph.Initializer.Count; i++)
        {
            TensorProto t = graph.Initializer[i];
            if (t.DataType != 1 || t.DataLocation == (int)TensorProto.Types.DataLocation.External)
            {
                continue;
            }

            float[] values = t.FloatData.Count > 0 ? [.. t.FloatData] : MemoryMarshal.Cast<byte, float>(RawData(t)).ToArray();
            if (replace(t.Name, values, [.. t.Dims]) is float[] updated)
            {
                // A fresh tensor with the values in float_data (the old raw_data goes with the old message).
                var fresh = new TensorProto { Name = t.Name, DataType = 1 };
                fresh.Dims.Add(t.Dims);
                fresh.FloatData.Add(updated);
                graph.Initializer[i] = fresh;
                replaced.Add(t.Name);
            }
        }

        foreach (NodeProto node in graph.Node)
        {
            foreach (AttributeProto a in node.Attribute)
            {
                if (a.G is not null)
                {
                    Walk(a.G, replace, replaced);
                }

                foreach (GraphProto g in a.Graphs)
                {
                    Walk(g, replace, replaced);
                }
            }
        }
    }

    // raw_data (field 9) is left undeclared by the loader's .proto and kept among the unknown fields: read it back from
    // the serialized message.
    private static ReadOnlySpan<byte> RawData(TensorProto t)
    {
        var input = new CodedInputStream(t.ToByteArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == 9)
            {
                return input.ReadBytes().Span;
            }

            input.SkipLastField();
        }

        return [];
    }
}
