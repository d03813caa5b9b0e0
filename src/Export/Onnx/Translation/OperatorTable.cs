using TorchToNnef.Errors;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Export.Onnx.Ops;

namespace TorchToNnef.Export.Onnx.Translation;

/// <summary>Translates one ONNX node (its inputs are already bound in the translator's scope).</summary>
internal delegate void OpTranslation(NodeContext node);

/// <summary>
/// The ONNX operators (standard domain) the exporter translates, each bound to its translation by an <c>Ops/*</c> file.
/// </summary>
internal static class OperatorTable
{
    private static readonly Dictionary<string, OpTranslation> Table = Build();

    /// <summary>Every supported operator type.</summary>
    public static IEnumerable<string> Supported => Table.Keys;

    /// <summary>True when <paramref name="node"/> has a translation.</summary>
    public static bool IsSupported(OnnxNode node) => node.Domain.Length == 0 && Table.ContainsKey(node.OpType);

    /// <summary>Translates <paramref name="node"/>.</summary>
    public static void Translate(NodeContext node)
    {
        if (!IsSupported(node.Node))
        {
            throw node.Unsupported("operator is not supported");
        }

        Table[node.Node.OpType](node);
    }

    /// <summary>
    /// Fails, before anything is built, when the model uses operators without a translation (subgraphs included),
    /// listing every unsupported operator type with the names of the nodes that use it.
    /// </summary>
    public static void CheckSupported(OnnxModel model)
    {
        var missing = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        Collect(model.Graph, missing);
        if (missing.Count == 0)
        {
            return;
        }

        string list = string.Join("; ", missing.Select(kv =>
            $"{kv.Key} ({kv.Value.Count} node{(kv.Value.Count == 1 ? string.Empty : "s")}: {string.Join(", ", kv.Value.Take(10).Select(n => $"'{n}'"))}{(kv.Value.Count > 10 ? ", ..." : string.Empty)})"));
        throw new UnsupportedFeatureException(model.Path, null, $"unsupported ONNX operator(s), nothing was written: {list}");
    }

    private static void Collect(OnnxGraph graph, SortedDictionary<string, List<string>> missing)
    {
        foreach (OnnxNode node in graph.Nodes)
        {
            if (!IsSupported(node))
            {
                if (!missing.TryGetValue(node.QualifiedOpType, out List<string>? names))
                {
                    missing[node.QualifiedOpType] = names = [];
                }

                names.Add(node.DisplayName);
            }

            foreach (OnnxAttribute a in node.Attributes)
            {
                if (a.Graph is OnnxGraph g)
                {
                    Collect(g, missing);
                }

                foreach (OnnxGraph sub in a.Graphs)
                {
                    Collect(sub, missing);
                }
            }
        }
    }

    private static Dictionary<string, OpTranslation> Build()
    {
        var table = new Dictionary<string, OpTranslation>(StringComparer.Ordinal);
        ElementWiseOps.Register(table);
        ActivationOps.Register(table);
        ConvOps.Register(table);
        NormalizationOps.Register(table);
        PoolOps.Register(table);
        MatMulOps.Register(table);
        ShapeOps.Register(table);
        IndexingOps.Register(table);
        ReduceOps.Register(table);
        ResizeOps.Register(table);
        RecurrentOps.Register(table);
        ControlOps.Register(table);
        QuantOps.Register(table);
        return table;
    }
}
