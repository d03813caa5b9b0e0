using System.Text;
using Google.Protobuf;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Onnx.Protobuf;

namespace TorchToNnef.Formats.Onnx.Reading;

/// <summary>
/// Converts <c>GraphProto</c>s (the main graph and, recursively, subgraphs held by attributes) into
/// <see cref="OnnxGraph"/>s, checking names and scoping: names are unique in their graph, every node input is
/// defined before use (in the graph or an enclosing one), every graph output is defined.
/// </summary>
internal sealed class GraphReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadContext _context;

    private GraphReader(ReadContext context) => _context = context;

    private string FilePath => _context.Path;

    public static OnnxGraph ReadMain(GraphProto graph, ScannedGraph scanned, ReadContext context) =>
        new GraphReader(context).Read(graph, scanned, outer: null, label: null);

    // label: where the graph sits, for errors; null for the main graph, else "node 'x' (If) attribute 'then_branch'".
    private OnnxGraph Read(GraphProto proto, ScannedGraph scanned, Scope? outer, string? label)
    {
        string where = label is null ? string.Empty : $" in the subgraph of {label}";
        Expect(proto.Initializer.Count == scanned.Initializers.Count && proto.Node.Count == scanned.Nodes.Count, "graph", label);

        if (proto.SparseInitializer.Count > 0)
        {
            string names = string.Join(", ", proto.SparseInitializer.Select(s => $"'{s.Values?.Name}'"));
            throw new UnsupportedFeatureException(FilePath, null, $"sparse initializers{where} are not supported ({names})");
        }

        var scope = new Scope(outer);
        OnnxValueInfo[] inputs = ReadValueInfos(proto.Input, "input", where);
        foreach (OnnxValueInfo i in inputs)
        {
            if (!scope.Names.Add(i.Name))
            {
                throw Invalid($"graph input '{i.Name}'{where} is declared twice");
            }
        }

        var initializers = new OnnxTensor[proto.Initializer.Count];
        var initializerNames = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < initializers.Length; i++)
        {
            TensorProto t = proto.Initializer[i];
            if (t.Name.Length == 0)
            {
                throw Invalid($"initializer #{i}{where} has no name");
            }

            if (!initializerNames.Add(t.Name))
            {
                throw new InvalidInputFileException(FilePath, t.Name, $"is given by two initializers{where}");
            }

            initializers[i] = TensorReader.Read(t, scanned.Initializers[i], t.Name, _context);
            scope.Names.Add(t.Name); // an initializer may share its name with a graph input (an overridable default)
        }

        var valueInfo = new Dictionary<string, OnnxValueInfo>(StringComparer.Ordinal);
        foreach (OnnxValueInfo v in ReadValueInfos(proto.ValueInfo, "value_info", where))
        {
            if (!valueInfo.TryAdd(v.Name, v))
            {
                throw Invalid($"value_info declares '{v.Name}'{where} twice");
            }
        }

        var nodes = new OnnxNode[proto.Node.Count];
        var subgraphs = new List<OnnxGraph>();
        for (int n = 0; n < nodes.Length; n++)
        {
            nodes[n] = ReadNode(proto.Node[n], scanned.Nodes[n], n, scope, label, subgraphs);
        }

        OnnxValueInfo[] outputs = ReadValueInfos(proto.Output, "output", where);
        var outputNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (OnnxValueInfo o in outputs)
        {
            if (!outputNames.Add(o.Name))
            {
                throw Invalid($"graph output '{o.Name}'{where} is declared twice");
            }

            if (!scope.Contains(o.Name))
            {
                throw Invalid($"graph output '{o.Name}'{where} is not produced by any node, initializer or input");
            }
        }

        var graph = new OnnxGraph(proto.Name, inputs, outputs, initializers, valueInfo, nodes);
        foreach (OnnxGraph g in subgraphs)
        {
            g.Parent = graph;
        }

        return graph;
    }

    private OnnxNode ReadNode(NodeProto proto, ScannedNode scanned, int index, Scope scope, string? graphLabel, List<OnnxGraph> subgraphs)
    {
        Expect(proto.Attribute.Count == scanned.Attributes.Count, "node", graphLabel);
        string domain = proto.Domain == "ai.onnx" ? string.Empty : proto.Domain;
        var node = new OnnxNode(index, proto.Name, proto.OpType, domain, proto.Input.ToArray(), proto.Output.ToArray());
        string label = graphLabel is null ? node.ToString() : $"{node} in the subgraph of {graphLabel}";
        if (proto.OpType.Length == 0)
        {
            throw Invalid($"{label} has no op_type");
        }

        var attributes = new OnnxAttribute[proto.Attribute.Count];
        var attributeNames = new HashSet<string>(StringComparer.Ordinal);
        for (int a = 0; a < attributes.Length; a++)
        {
            AttributeProto ap = proto.Attribute[a];
            if (ap.Name.Length == 0)
            {
                throw Invalid($"{label}: attribute #{a} has no name");
            }

            if (!attributeNames.Add(ap.Name))
            {
                throw Invalid($"{label}: attribute '{ap.Name}' is given twice");
            }

            attributes[a] = ReadAttribute(ap, scanned.Attributes[a], label, node, scope, subgraphs);
        }

        node.Attributes = new OnnxAttributes(attributes, FilePath, label);

        foreach (string input in proto.Input)
        {
            if (input.Length > 0 && !scope.Contains(input))
            {
                throw Invalid($"{label}: input '{input}' is not a graph input, an initializer or the output of an earlier node (nodes must be in topological order)");
            }
        }

        foreach (string output in proto.Output)
        {
            if (output.Length > 0 && !scope.Names.Add(output))
            {
                throw Invalid($"{label}: output '{output}' is already defined (each value must be produced once)");
            }
        }

        return node;
    }

    private OnnxAttribute ReadAttribute(AttributeProto p, ScannedAttribute scanned, string nodeLabel, OnnxNode node, Scope scope, List<OnnxGraph> subgraphs)
    {
        string label = $"{nodeLabel}: attribute '{p.Name}'";
        Expect(p.Tensors.Count == scanned.Tensors.Count && p.Graphs.Count == scanned.Graphs.Count
            && (p.T is null) == (scanned.Tensor is null) && (p.G is null) == (scanned.Graph is null), "attribute", nodeLabel);

        if (p.RefAttrName.Length > 0)
        {
            throw Invalid($"{label} refers to a function attribute ('{p.RefAttrName}'), which is only allowed inside functions");
        }

        OnnxAttributeKind kind = KindOf(p, label);
        string tensorName = $"{node.DisplayName}.{p.Name}";
        string graphLabel = $"{node} attribute '{p.Name}'";
        switch (kind)
        {
            case OnnxAttributeKind.Float:
                return new OnnxAttribute(p.Name, kind) { Float = p.F };
            case OnnxAttributeKind.Int:
                return new OnnxAttribute(p.Name, kind) { Int = p.I };
            case OnnxAttributeKind.String:
                return new OnnxAttribute(p.Name, kind) { String = Utf8(p.S, label) };
            case OnnxAttributeKind.Floats:
                return new OnnxAttribute(p.Name, kind) { Floats = p.Floats.ToArray() };
            case OnnxAttributeKind.Ints:
                return new OnnxAttribute(p.Name, kind) { Ints = p.Ints.ToArray() };
            case OnnxAttributeKind.Strings:
                return new OnnxAttribute(p.Name, kind) { Strings = p.Strings.Select(s => Utf8(s, label)).ToArray() };
            case OnnxAttributeKind.Tensor:
                Require(p.T is not null, label, "is TENSOR but holds no tensor");
                return new OnnxAttribute(p.Name, kind) { Tensor = TensorReader.Read(p.T!, scanned.Tensor!, NameOr(p.T!.Name, tensorName), _context) };
            case OnnxAttributeKind.Tensors:
                var tensors = new OnnxTensor[p.Tensors.Count];
                for (int i = 0; i < tensors.Length; i++)
                {
                    tensors[i] = TensorReader.Read(p.Tensors[i], scanned.Tensors[i], NameOr(p.Tensors[i].Name, $"{tensorName}[{i}]"), _context);
                }

                return new OnnxAttribute(p.Name, kind) { Tensors = tensors };
            case OnnxAttributeKind.Graph:
                Require(p.G is not null, label, "is GRAPH but holds no graph");
                OnnxGraph g = Read(p.G!, scanned.Graph!, scope, graphLabel);
                subgraphs.Add(g);
                return new OnnxAttribute(p.Name, kind) { Graph = g };
            case OnnxAttributeKind.Graphs:
                var graphs = new OnnxGraph[p.Graphs.Count];
                for (int i = 0; i < graphs.Length; i++)
                {
                    graphs[i] = Read(p.Graphs[i], scanned.Graphs[i], scope, $"{graphLabel}[{i}]");
                    subgraphs.Add(graphs[i]);
                }

                return new OnnxAttribute(p.Name, kind) { Graphs = graphs };
            case OnnxAttributeKind.SparseTensor or OnnxAttributeKind.SparseTensors:
                throw new UnsupportedFeatureException(FilePath, null, $"{label} is a sparse tensor, which is not supported");
            default:
                // TYPE_PROTO(S): kept as a kind only; no operator we translate reads them.
                return new OnnxAttribute(p.Name, kind);
        }
    }

    /// <summary>The attribute's kind: its <c>type</c> field, or for files older than IR version 2 the field in use.</summary>
    private OnnxAttributeKind KindOf(AttributeProto p, string label)
    {
        if (p.HasType && p.Type != 0)
        {
            return p.Type is >= 1 and <= 14
                ? (OnnxAttributeKind)p.Type
                : throw Invalid($"{label} has unknown attribute type {p.Type}");
        }

        OnnxAttributeKind? inferred =
            p.HasF ? OnnxAttributeKind.Float
            : p.HasI ? OnnxAttributeKind.Int
            : p.HasS ? OnnxAttributeKind.String
            : p.T is not null ? OnnxAttributeKind.Tensor
            : p.G is not null ? OnnxAttributeKind.Graph
            : p.SparseTensor is not null ? OnnxAttributeKind.SparseTensor
            : p.Floats.Count > 0 ? OnnxAttributeKind.Floats
            : p.Ints.Count > 0 ? OnnxAttributeKind.Ints
            : p.Strings.Count > 0 ? OnnxAttributeKind.Strings
            : p.Tensors.Count > 0 ? OnnxAttributeKind.Tensors
            : p.Graphs.Count > 0 ? OnnxAttributeKind.Graphs
            : p.SparseTensors.Count > 0 ? OnnxAttributeKind.SparseTensors
            : null;
        return inferred ?? throw Invalid($"{label} has neither a type nor a value");
    }

    private OnnxValueInfo[] ReadValueInfos(IList<ValueInfoProto> list, string role, string where)
    {
        var result = new OnnxValueInfo[list.Count];
        for (int i = 0; i < result.Length; i++)
        {
            ValueInfoProto v = list[i];
            if (v.Name.Length == 0)
            {
                throw Invalid($"graph {role} #{i}{where} has no name");
            }

            result[i] = ReadValueInfo(v, $"graph {role} '{v.Name}'{where}");
        }

        return result;
    }

    private OnnxValueInfo ReadValueInfo(ValueInfoProto v, string label)
    {
        TypeProto? type = v.Type;
        if (type is null)
        {
            return new OnnxValueInfo(v.Name, OnnxValueKind.Unknown, OnnxDataType.Undefined, null);
        }

        return type.ValueCase switch
        {
            TypeProto.ValueOneofCase.TensorType => new OnnxValueInfo(
                v.Name, OnnxValueKind.Tensor, ElementType(type.TensorType.ElemType, label), Dims(type.TensorType.Shape, label)),
            TypeProto.ValueOneofCase.SparseTensorType => new OnnxValueInfo(
                v.Name, OnnxValueKind.SparseTensor, ElementType(type.SparseTensorType.ElemType, label), Dims(type.SparseTensorType.Shape, label)),
            TypeProto.ValueOneofCase.SequenceType => new OnnxValueInfo(v.Name, OnnxValueKind.Sequence, OnnxDataType.Undefined, null),
            TypeProto.ValueOneofCase.MapType => new OnnxValueInfo(v.Name, OnnxValueKind.Map, OnnxDataType.Undefined, null),
            TypeProto.ValueOneofCase.OptionalType => new OnnxValueInfo(v.Name, OnnxValueKind.Optional, OnnxDataType.Undefined, null),
            TypeProto.ValueOneofCase.OpaqueType => new OnnxValueInfo(v.Name, OnnxValueKind.Opaque, OnnxDataType.Undefined, null),
            _ => new OnnxValueInfo(v.Name, OnnxValueKind.Unknown, OnnxDataType.Undefined, null),
        };
    }

    private OnnxDataType ElementType(int value, string label) =>
        value == 0 || OnnxDataTypes.IsDefined(value)
            ? (OnnxDataType)value
            : throw Invalid($"{label} has unknown element type {value}");

    private OnnxDim[]? Dims(TensorShapeProto? shape, string label)
    {
        if (shape is null)
        {
            return null;
        }

        var dims = new OnnxDim[shape.Dim.Count];
        for (int i = 0; i < dims.Length; i++)
        {
            TensorShapeProto.Types.Dimension d = shape.Dim[i];
            dims[i] = d.ValueCase switch
            {
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue when d.DimValue < 0 =>
                    throw Invalid($"{label} has negative dimension {d.DimValue} at axis {i}"),
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => OnnxDim.Known(d.DimValue),
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam when d.DimParam.Length > 0 => OnnxDim.Named(d.DimParam),
                _ => OnnxDim.Unknown,
            };
        }

        return dims;
    }

    private string Utf8(ByteString bytes, string label)
    {
        try
        {
            return StrictUtf8.GetString(bytes.Span);
        }
        catch (DecoderFallbackException)
        {
            throw Invalid($"{label} is not valid UTF-8");
        }
    }

    private static string NameOr(string name, string fallback) => name.Length > 0 ? name : fallback;

    private void Require(bool condition, string label, string what)
    {
        if (!condition)
        {
            throw Invalid($"{label} {what}");
        }
    }

    private InvalidInputFileException Invalid(string what) => new(FilePath, null, what);

    // The scanner mirrors the parser's merge rules, so the two always agree on a file the parser accepted; a
    // difference is a bug of ours, reported as such rather than as a fault of the file.
    private void Expect(bool agree, string what, string? where)
    {
        if (!agree)
        {
            throw new InvalidOperationException(
                $"{FilePath}: internal error: the payload scan and the protobuf parse disagree on a {what}{(where is null ? string.Empty : " in " + where)}");
        }
    }

    /// <summary>Names defined in a graph, with the enclosing graphs' names visible to subgraphs.</summary>
    private sealed class Scope(Scope? outer)
    {
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

        public bool Contains(string name) => Names.Contains(name) || (outer?.Contains(name) ?? false);
    }
}
