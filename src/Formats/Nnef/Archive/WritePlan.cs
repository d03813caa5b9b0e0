using TorchToNnef.Errors;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>One <c>.dat</c> file to write.</summary>
/// <param name="Path">Path inside the archive (<c>label.dat</c>).</param>
/// <param name="Source">Where the data comes from.</param>
/// <param name="Header">Header to write (Q4_0 in the encoding the target reads).</param>
internal sealed record DatMember(string Path, TensorSource Source, DatHeader Header);

/// <summary>
/// What will be written for a graph and a target: a copy of the graph whose labels are safe paths, whose variable
/// nodes carry their label and stored shape, and whose non-finite float literals (which tract cannot parse) have
/// become rank-0 f32 variables; the <c>.dat</c> members in graph order (one per label); and the texts.
/// </summary>
internal sealed class WritePlan
{
    private readonly TractVersion _target;
    private string? _graphText;
    private (string? Text, bool Done) _quantText;

    private WritePlan(Graph graph, List<DatMember> dats, TractVersion target)
    {
        Graph = graph;
        Dats = dats;
        _target = target;
    }

    /// <summary>The prepared copy of the graph.</summary>
    public Graph Graph { get; }

    /// <summary><c>.dat</c> members in the order their variables appear.</summary>
    public List<DatMember> Dats { get; }

    /// <summary>
    /// <c>graph.nnef</c> text, formatted on first use (from the prepared copy, which nothing changes after
    /// <see cref="Create"/>): an archive writer asks for it once the producers of the <c>.dat</c> members have started,
    /// so that they quantize while it is formatted.
    /// </summary>
    /// <exception cref="UnsupportedFeatureException">Something the target cannot represent.</exception>
    public string GraphText => _graphText ??= Text.GraphTextWriter.Format(Graph, _target);

    /// <summary><c>graph.quant</c> text, or null when no value is quantized (formatted on first use too).</summary>
    public string? QuantText
    {
        get
        {
            if (!_quantText.Done)
            {
                _quantText = (Graph.Quantization.Count == 0 ? null : Text.GraphQuantText.Format(QuantEntriesInGraphOrder(Graph), Text.GraphQuantText.QuantizeOutputs(Graph)), true);
            }

            return _quantText.Text;
        }
    }

    /// <summary>Prepares <paramref name="source"/> (which is not modified) for <paramref name="target"/>.</summary>
    public static WritePlan Create(Graph source, TractVersion target)
    {
        Graph graph = source.Clone();
        ReplaceNonFiniteLiterals(graph);
        var labels = new LabelPaths();
        var dats = new List<DatMember>();
        var byLabel = new Dictionary<string, TensorSource>(StringComparer.Ordinal);

        foreach (Node node in graph.Nodes.Where(n => n.Op == Graph.VariableOp))
        {
            string name = node.Name;
            if (!graph.Variables.TryGetValue(name, out Variable? v))
            {
                throw new InvalidGraphException(name, "variable node has no data (Graph.Variables has no entry)");
            }

            string label = labels.Get(v.Label);
            v.Label = label;
            node.With("label", Arg.String(label)).With("shape", Arg.Ints(v.Shape.Dims.ToArray()));
            if (byLabel.TryGetValue(label, out TensorSource? existing))
            {
                if (!ReferenceEquals(existing, v.Source) && !SameData(existing, v.Source))
                {
                    throw new InvalidGraphException(name, $"shares the label '{label}' with another variable but holds different data");
                }

                continue;
            }

            byLabel[label] = v.Source;
            bool quantizedStorage = graph.Quantization.ContainsKey(name) && v.DType is DType.U8 or DType.I8;
            DatHeader header = HeaderFor(label, v.DType, v.Shape, quantizedStorage, target);
            dats.Add(new DatMember(label + ".dat", v.Source, header));
        }

        return new WritePlan(graph, dats, target);
    }

    /// <summary>The <c>.dat</c> header of a variable stored for <paramref name="target"/> (Q4_0 in the encoding it reads).</summary>
    /// <exception cref="UnsupportedFeatureException">The target cannot store it (rank-3 Q4_0 for tract &lt;= 0.21.10, bf16, ...).</exception>
    internal static DatHeader HeaderFor(string label, DType dtype, Shape shape, bool quantizedStorage, TractVersion target)
    {
        bool legacyQ40 = dtype == DType.Q40 && !target.UsesGgmlQ40Order;
        if (legacyQ40 && shape.Rank != 2)
        {
            throw new UnsupportedFeatureException(null, label, $"tract {target} reads only rank-2 Q4_0 tensors; this one is {shape}");
        }

        try
        {
            return DatHeader.For(dtype, shape, quantizedStorage, legacyQ40Order: legacyQ40);
        }
        catch (UnsupportedFeatureException e)
        {
            throw new UnsupportedFeatureException(null, label, e.Message);
        }
    }

    private static IEnumerable<KeyValuePair<string, QuantInfo>> QuantEntriesInGraphOrder(Graph graph)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (string output in graph.Nodes.SelectMany(n => n.Outputs))
        {
            if (graph.Quantization.TryGetValue(output, out QuantInfo? q) && done.Add(output))
            {
                yield return new(output, q);
            }
        }

        foreach (string key in graph.Quantization.Keys.Where(k => !done.Contains(k)).Order(StringComparer.Ordinal))
        {
            yield return new(key, graph.Quantization[key]);
        }
    }

    /// <summary>
    /// tract has no literal for NaN or infinities: in the graph body they become rank-0 f32 variables
    /// (<c>var_inf</c>, <c>var_neg_inf</c>, <c>var_nan</c>), which tract types like the literal would be.
    /// </summary>
    private static void ReplaceNonFiniteLiterals(Graph graph)
    {
        // Graphs rarely hold such a literal: look first, and build the set of taken names only when one is there.
        if (!graph.Nodes.Any(HasNonFinite))
        {
            return;
        }

        var taken = new HashSet<string>(graph.Nodes.SelectMany(n => n.Outputs.Concat(n.References)), StringComparer.Ordinal);
        taken.UnionWith(graph.Variables.Values.Select(v => v.Label));
        var created = new Dictionary<long, string>();
        var newNodes = new List<Node>();

        Arg Replace(Arg a)
        {
            switch (a)
            {
                case FloatLiteral f when !double.IsFinite(f.Value):
                    long key = BitConverter.DoubleToInt64Bits(double.IsNaN(f.Value) ? double.NaN : f.Value);
                    if (!created.TryGetValue(key, out string? name))
                    {
                        string wanted = double.IsNaN(f.Value) ? "var_nan" : f.Value > 0 ? "var_inf" : "var_neg_inf";
                        name = wanted;
                        for (int k = 1; !taken.Add(name); k++)
                        {
                            name = $"{wanted}_{k}";
                        }

                        created[key] = name;
                        var t = new Tensor(DType.F32, Shape.Scalar, OwnedTensorData.Wrap(BitConverter.GetBytes((float)f.Value)));
                        var variable = new Node(Graph.VariableOp, name) { Generic = "scalar" };
                        newNodes.Add(variable);
                        graph.Variables[name] = new Variable(name, TensorSource.FromTensor(t));
                    }

                    return Arg.Ref(name);
                case ArrayArg arr when arr.Items.Any(HasNonFinite):
                    return Arg.Array(arr.Items.Select(Replace).ToList());
                case TupleArg tup when tup.Items.Any(HasNonFinite):
                    return Arg.Tuple(tup.Items.Select(Replace).ToList());
                default:
                    return a;
            }
        }

        foreach (Node node in graph.Nodes)
        {
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                node.Inputs[i] = Replace(node.Inputs[i]);
            }

            for (int i = 0; i < node.Attributes.Count; i++)
            {
                Arg value = node.Attributes.GetAt(i).Value;
                if (HasNonFinite(value))
                {
                    node.Attributes.SetAt(i, Replace(value));
                }
            }
        }

        graph.Nodes.InsertRange(0, newNodes);
    }

    private static bool HasNonFinite(Node node)
    {
        foreach (Arg a in node.Inputs)
        {
            if (HasNonFinite(a))
            {
                return true;
            }
        }

        for (int i = 0; i < node.Attributes.Count; i++)
        {
            if (HasNonFinite(node.Attributes.GetAt(i).Value))
            {
                return true;
            }
        }

        return false;
    }

    private static bool HasNonFinite(Arg a) => a switch
    {
        FloatLiteral f => !double.IsFinite(f.Value),
        ArrayArg arr => arr.Items.Any(HasNonFinite),
        TupleArg t => t.Items.Any(HasNonFinite),
        _ => false,
    };

    /// <summary>Compares two payloads in bounded windows.</summary>
    private static bool SameData(TensorSource a, TensorSource b)
    {
        if (a.DType != b.DType || a.Shape != b.Shape)
        {
            return false;
        }

        using Tensor ta = a.Open();
        using Tensor tb = b.Open();
        byte[] wa = new byte[1 << 16];
        byte[] wb = new byte[1 << 16];
        for (long off = 0; off < ta.ByteLength; off += wa.Length)
        {
            int n = (int)Math.Min(wa.Length, ta.ByteLength - off);
            ta.Data.Read(off, wa.AsSpan(0, n));
            tb.Data.Read(off, wb.AsSpan(0, n));
            if (!wa.AsSpan(0, n).SequenceEqual(wb.AsSpan(0, n)))
            {
                return false;
            }
        }

        return true;
    }
}
