using TorchToNnef.Errors;

namespace TorchToNnef.Formats.Onnx.Reading;

/// <summary>
/// Finds where each <c>TensorProto.raw_data</c> payload lies in the file, so that tensors can be viewed in place
/// instead of being copied by the protobuf parser (which runs with that field undeclared and skips it). The scanner
/// walks the protobuf wire format along the only paths that hold tensors - model.graph, graph.initializer,
/// graph.node.attribute.{t, tensors, g, graphs} - and skips everything else by its length, so it reads a few bytes
/// per field and never touches the payload pages.
/// </summary>
/// <remarks>
/// The result mirrors protobuf's merge rules, so that it lines up with the parsed messages element for element:
/// a repeated field appends, a singular message field seen twice merges into the same record, and a second
/// <c>raw_data</c> replaces the first. Only fields with the length-delimited wire type count, as in the parser,
/// which treats a field with another wire type as unknown.
/// </remarks>
internal static class OnnxWireScanner
{
    private const int WireVarint = 0;
    private const int WireFixed64 = 1;
    private const int WireLengthDelimited = 2;
    private const int WireStartGroup = 3;
    private const int WireEndGroup = 4;
    private const int WireFixed32 = 5;

    // Same nesting limit as the protobuf parser's default, so a file it accepts is a file we can scan.
    private const int MaxDepth = 100;

    /// <summary>Scans a serialized <c>ModelProto</c>; <paramref name="path"/> names the file in errors.</summary>
    public static ScannedGraph? ScanModel(ReadOnlySpan<byte> model, string path)
    {
        var reader = new WireReader(model, path);
        ScannedGraph? graph = null;
        while (reader.TryReadTag(out int field, out int wire))
        {
            if (field == 7 && wire == WireLengthDelimited)
            {
                ReadOnlySpan<byte> body = reader.ReadLengthDelimited(out int start);
                graph ??= new ScannedGraph();
                ScanGraph(body, start, graph, path, depth: 1);
            }
            else
            {
                reader.Skip(wire, field, depth: 0);
            }
        }

        return graph;
    }

    private static void ScanGraph(ReadOnlySpan<byte> graph, int baseOffset, ScannedGraph into, string path, int depth)
    {
        CheckDepth(depth, path);
        var reader = new WireReader(graph, path, baseOffset);
        while (reader.TryReadTag(out int field, out int wire))
        {
            if (wire == WireLengthDelimited && field is 1 or 5)
            {
                ReadOnlySpan<byte> body = reader.ReadLengthDelimited(out int start);
                if (field == 1)
                {
                    var node = new ScannedNode();
                    ScanNode(body, start, node, path, depth + 1);
                    into.Nodes.Add(node);
                }
                else
                {
                    var tensor = new ScannedTensor();
                    ScanTensor(body, start, tensor, path, depth + 1);
                    into.Initializers.Add(tensor);
                }
            }
            else
            {
                reader.Skip(wire, field, depth);
            }
        }
    }

    private static void ScanNode(ReadOnlySpan<byte> node, int baseOffset, ScannedNode into, string path, int depth)
    {
        CheckDepth(depth, path);
        var reader = new WireReader(node, path, baseOffset);
        while (reader.TryReadTag(out int field, out int wire))
        {
            if (field == 5 && wire == WireLengthDelimited)
            {
                ReadOnlySpan<byte> body = reader.ReadLengthDelimited(out int start);
                var attribute = new ScannedAttribute();
                ScanAttribute(body, start, attribute, path, depth + 1);
                into.Attributes.Add(attribute);
            }
            else
            {
                reader.Skip(wire, field, depth);
            }
        }
    }

    private static void ScanAttribute(ReadOnlySpan<byte> attribute, int baseOffset, ScannedAttribute into, string path, int depth)
    {
        CheckDepth(depth, path);
        var reader = new WireReader(attribute, path, baseOffset);
        while (reader.TryReadTag(out int field, out int wire))
        {
            if (wire != WireLengthDelimited || field is not (5 or 6 or 10 or 11))
            {
                reader.Skip(wire, field, depth);
                continue;
            }

            ReadOnlySpan<byte> body = reader.ReadLengthDelimited(out int start);
            switch (field)
            {
                case 5:
                    into.Tensor ??= new ScannedTensor();
                    ScanTensor(body, start, into.Tensor, path, depth + 1);
                    break;
                case 6:
                    into.Graph ??= new ScannedGraph();
                    ScanGraph(body, start, into.Graph, path, depth + 1);
                    break;
                case 10:
                    var tensor = new ScannedTensor();
                    ScanTensor(body, start, tensor, path, depth + 1);
                    into.Tensors.Add(tensor);
                    break;
                default:
                    var graph = new ScannedGraph();
                    ScanGraph(body, start, graph, path, depth + 1);
                    into.Graphs.Add(graph);
                    break;
            }
        }
    }

    private static void ScanTensor(ReadOnlySpan<byte> tensor, int baseOffset, ScannedTensor into, string path, int depth)
    {
        CheckDepth(depth, path);
        var reader = new WireReader(tensor, path, baseOffset);
        while (reader.TryReadTag(out int field, out int wire))
        {
            if (field == 9 && wire == WireLengthDelimited)
            {
                ReadOnlySpan<byte> raw = reader.ReadLengthDelimited(out int start);
                into.RawOffset = start;
                into.RawLength = raw.Length;
            }
            else
            {
                reader.Skip(wire, field, depth);
            }
        }
    }

    private static void CheckDepth(int depth, string path)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidInputFileException(path, null, $"messages are nested more than {MaxDepth} levels deep");
        }
    }

    /// <summary>Reads tags, varints and lengths from one message body; every length is checked against the body.</summary>
    private ref struct WireReader(ReadOnlySpan<byte> body, string path, int baseOffset = 0)
    {
        private readonly ReadOnlySpan<byte> _body = body;
        private int _pos;

        public bool TryReadTag(out int field, out int wire)
        {
            if (_pos >= _body.Length)
            {
                field = 0;
                wire = 0;
                return false;
            }

            ulong tag = ReadVarint();
            field = (int)Math.Min(tag >> 3, int.MaxValue);
            wire = (int)(tag & 7);
            if (field == 0)
            {
                throw Malformed("field number 0");
            }

            return true;
        }

        public ReadOnlySpan<byte> ReadLengthDelimited(out int absoluteStart)
        {
            ulong length = ReadVarint();
            if (length > (ulong)(_body.Length - _pos))
            {
                throw Malformed($"a field declares {length} bytes but only {_body.Length - _pos} remain in its message (truncated file?)");
            }

            absoluteStart = baseOffset + _pos;
            ReadOnlySpan<byte> result = _body.Slice(_pos, (int)length);
            _pos += (int)length;
            return result;
        }

        public void Skip(int wire, int field, int depth)
        {
            switch (wire)
            {
                case WireVarint:
                    ReadVarint();
                    break;
                case WireFixed64:
                    Advance(8);
                    break;
                case WireFixed32:
                    Advance(4);
                    break;
                case WireLengthDelimited:
                    ReadLengthDelimited(out _);
                    break;
                case WireStartGroup:
                    if (depth >= MaxDepth)
                    {
                        throw Malformed($"groups are nested more than {MaxDepth} levels deep");
                    }

                    while (true)
                    {
                        if (!TryReadTag(out int inner, out int innerWire))
                        {
                            throw Malformed($"group {field} is not closed (truncated file?)");
                        }

                        if (innerWire == WireEndGroup)
                        {
                            if (inner != field)
                            {
                                throw Malformed($"group {field} is closed by an end tag for field {inner}");
                            }

                            break;
                        }

                        Skip(innerWire, inner, depth + 1);
                    }

                    break;
                default:
                    throw Malformed($"field {field} has invalid wire type {wire}");
            }
        }

        private void Advance(int count)
        {
            if (_body.Length - _pos < count)
            {
                throw Malformed("a fixed-size field runs past the end of its message (truncated file?)");
            }

            _pos += count;
        }

        private ulong ReadVarint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= _body.Length)
                {
                    throw Malformed("a varint runs past the end of its message (truncated file?)");
                }

                byte b = _body[_pos++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw Malformed("a varint is longer than 10 bytes");
        }

        private readonly InvalidInputFileException Malformed(string what) =>
            new(path, null, $"malformed protobuf at byte {baseOffset + _pos}: {what}");
    }
}

/// <summary>Where the raw payloads of one graph's tensors lie, in the order of the parsed message's fields.</summary>
internal sealed class ScannedGraph
{
    public List<ScannedTensor> Initializers { get; } = [];

    public List<ScannedNode> Nodes { get; } = [];
}

/// <summary>The attributes of one node, in order.</summary>
internal sealed class ScannedNode
{
    public List<ScannedAttribute> Attributes { get; } = [];
}

/// <summary>The tensors and subgraphs one attribute holds.</summary>
internal sealed class ScannedAttribute
{
    public ScannedTensor? Tensor { get; set; }

    public List<ScannedTensor> Tensors { get; } = [];

    public ScannedGraph? Graph { get; set; }

    public List<ScannedGraph> Graphs { get; } = [];
}

/// <summary>The position of one tensor's <c>raw_data</c> in the file, if it has one.</summary>
internal sealed class ScannedTensor
{
    /// <summary>Absolute file offset of the payload, or -1 when the tensor has no <c>raw_data</c>.</summary>
    public long RawOffset { get; set; } = -1;

    /// <summary>Payload length in bytes.</summary>
    public int RawLength { get; set; }

    /// <summary>True when the tensor has a <c>raw_data</c> field (possibly empty).</summary>
    public bool HasRaw => RawOffset >= 0;
}
