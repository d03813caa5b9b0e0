using System.Globalization;
using Google.Protobuf;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Formats.Onnx.Protobuf;

namespace TorchToNnef.OnnxTestSupport;

/// <summary>
/// Builds a graph for a test model: inputs and outputs with dims (a <c>long</c> is a known size, a <c>string</c> a
/// named dimension, <c>null</c> an unknown one), initializers, value_info and nodes, in the order they are added.
/// </summary>
public sealed class OnnxGraphBuilder
{
    internal GraphProto Proto { get; } = new();

    /// <summary>Creates a graph (a model's main graph, or a subgraph for an attribute).</summary>
    public OnnxGraphBuilder(string name = "graph") => Proto.Name = name;

    /// <summary>Declares a graph input; <paramref name="dims"/> null leaves the rank undeclared.</summary>
    public OnnxGraphBuilder Input(string name, OnnxDataType type, params object?[]? dims)
    {
        Proto.Input.Add(MakeValueInfo(name, type, dims));
        return this;
    }

    /// <summary>Declares a graph output.</summary>
    public OnnxGraphBuilder Output(string name, OnnxDataType type, params object?[]? dims)
    {
        Proto.Output.Add(MakeValueInfo(name, type, dims));
        return this;
    }

    /// <summary>Declares the type of an intermediate value.</summary>
    public OnnxGraphBuilder ValueInfo(string name, OnnxDataType type, params object?[]? dims)
    {
        Proto.ValueInfo.Add(MakeValueInfo(name, type, dims));
        return this;
    }

    /// <summary>Adds an initializer.</summary>
    public OnnxGraphBuilder Initializer(OnnxTensorSpec tensor)
    {
        Proto.Initializer.Add(tensor.ToProto());
        return this;
    }

    /// <summary>Adds a node; the name defaults to <c>op_index</c>.</summary>
    public OnnxGraphBuilder Node(string opType, string[] inputs, string[] outputs, params OnnxAttr[] attributes) =>
        NamedNode($"{opType}_{Proto.Node.Count}", opType, inputs, outputs, attributes);

    /// <summary>Adds a node with an explicit name (may be empty) and domain.</summary>
    public OnnxGraphBuilder NamedNode(string name, string opType, string[] inputs, string[] outputs, OnnxAttr[] attributes, string domain = "")
    {
        var node = new NodeProto { Name = name, OpType = opType, Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes.Select(a => a.Proto));
        Proto.Node.Add(node);
        return this;
    }

    /// <summary>Adds a <c>Constant</c> node whose value is <paramref name="value"/>.</summary>
    public OnnxGraphBuilder Constant(string output, OnnxTensorSpec value) =>
        Node("Constant", [], [output], OnnxAttr.Tensor("value", value));

    private static ValueInfoProto MakeValueInfo(string name, OnnxDataType type, object?[]? dims)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)type };
        if (dims is not null)
        {
            tensor.Shape = new TensorShapeProto();
            foreach (object? d in dims)
            {
                var dim = new TensorShapeProto.Types.Dimension();
                switch (d)
                {
                    case null:
                        break;
                    case string s:
                        dim.DimParam = s;
                        break;
                    default:
                        dim.DimValue = Convert.ToInt64(d, CultureInfo.InvariantCulture);
                        break;
                }

                tensor.Shape.Dim.Add(dim);
            }
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}

/// <summary>
/// Builds and writes a test ONNX model with the generated protobuf types of the loader. External data added with
/// <see cref="External"/> is written next to the model by <see cref="Save"/>.
/// </summary>
public sealed class OnnxModelBuilder
{
    private readonly Dictionary<string, MemoryStream> _external = new(StringComparer.Ordinal);

    /// <summary>A model importing the standard operator set <paramref name="opset"/>.</summary>
    public OnnxModelBuilder(long opset = 17, long irVersion = 8)
    {
        Proto.IrVersion = irVersion;
        Proto.ProducerName = "t2n-tests";
        Proto.ProducerVersion = "1";
        Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        Proto.Graph = Graph.Proto;
    }

    /// <summary>The main graph.</summary>
    public OnnxGraphBuilder Graph { get; } = new("main");

    internal ModelProto Proto { get; } = new();

    /// <summary>Imports another operator set (or, with an empty domain, replaces nothing: use for extra domains).</summary>
    public OnnxModelBuilder Opset(string domain, long version)
    {
        Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        return this;
    }

    /// <summary>Removes every opset import (for tests of models without one).</summary>
    public OnnxModelBuilder ClearOpsets()
    {
        Proto.OpsetImport.Clear();
        return this;
    }

    /// <summary>Adds a <c>metadata_props</c> entry.</summary>
    public OnnxModelBuilder Metadata(string key, string value)
    {
        Proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return this;
    }

    /// <summary>
    /// Stores <paramref name="tensor"/>'s bytes in the external file <paramref name="location"/> (relative to the model,
    /// aligned to 64 bytes) and points the tensor at them; returns the tensor for <see cref="OnnxGraphBuilder.Initializer"/>.
    /// </summary>
    public OnnxTensorSpec External(OnnxTensorSpec tensor, string location)
    {
        if (!_external.TryGetValue(location, out MemoryStream? file))
        {
            file = new MemoryStream();
            _external.Add(location, file);
        }

        file.SetLength((file.Length + 63) / 64 * 64);
        file.Position = file.Length;
        long offset = file.Position;
        file.Write(tensor.Bytes);
        tensor.ExternalData =
        [
            ("location", location),
            ("offset", offset.ToString(CultureInfo.InvariantCulture)),
            ("length", tensor.Bytes.Length.ToString(CultureInfo.InvariantCulture)),
        ];
        return tensor;
    }

    /// <summary>The serialized model.</summary>
    public byte[] ToBytes() => Proto.ToByteArray();

    /// <summary>Writes the model (and its external data files) and returns <paramref name="path"/>.</summary>
    public string Save(string path)
    {
        File.WriteAllBytes(path, ToBytes());
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        foreach ((string location, MemoryStream data) in _external)
        {
            string target = Path.Combine(dir, location);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target, data.ToArray());
        }

        return path;
    }
}
