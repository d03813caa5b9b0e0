using TorchToNnef.Formats.Onnx;

namespace TorchToNnef.Export.Onnx.Translation;

/// <summary>
/// Which nodes of the main graph are folded into others, decided before translation: a <c>BatchNormalization</c>
/// (inference mode, constant parameters) whose input is the only use of a <c>Conv</c> or <c>ConvTranspose</c> output
/// with a constant kernel is folded into that convolution's kernel and bias, as torch_to_nnef and tract do.
/// </summary>
internal sealed class FusionPlan
{
    private readonly Dictionary<OnnxNode, OnnxNode> _batchNormAfter = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<OnnxNode> _folded = new(ReferenceEqualityComparer.Instance);

    public FusionPlan(OnnxGraph graph)
    {
        var constants = new HashSet<string>(graph.InitializerList.Select(t => t.Name), StringComparer.Ordinal);
        foreach (OnnxNode n in graph.Nodes.Where(n => n.OpType == "Constant" && n.Domain.Length == 0))
        {
            constants.UnionWith(n.Outputs.Where(o => o.Length > 0));
        }

        foreach (OnnxValueInfo input in graph.Inputs)
        {
            // An initializer listed as an input is still a constant to the exporter; a plain input is not.
            if (!graph.Initializers.ContainsKey(input.Name))
            {
                constants.Remove(input.Name);
            }
        }

        var uses = new Dictionary<string, int>(StringComparer.Ordinal);
        void Use(string name) => uses[name] = uses.GetValueOrDefault(name) + 1;
        foreach (OnnxNode n in graph.Nodes)
        {
            foreach (string i in n.Inputs.Where(i => i.Length > 0))
            {
                Use(i);
            }

            // Subgraphs may read any outer value: count those reads too.
            foreach (OnnxAttribute a in n.Attributes)
            {
                foreach (OnnxGraph g in a.Graph is null ? a.Graphs : [a.Graph, .. a.Graphs])
                {
                    foreach (string i in g.Nodes.SelectMany(s => s.Inputs).Where(i => i.Length > 0))
                    {
                        Use(i);
                    }
                }
            }
        }

        foreach (OnnxValueInfo o in graph.Outputs)
        {
            Use(o.Name);
        }

        var producers = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
        foreach (OnnxNode n in graph.Nodes)
        {
            foreach (string o in n.Outputs.Where(o => o.Length > 0))
            {
                producers[o] = n;
            }
        }

        foreach (OnnxNode bn in graph.Nodes.Where(n => n.OpType == "BatchNormalization" && n.Domain.Length == 0))
        {
            if (bn.Inputs.Count < 5 || !bn.Inputs.Skip(1).Take(4).All(constants.Contains)
                || bn.Attributes.GetInt("training_mode", 0) != 0 || bn.Outputs.Skip(1).Any(o => o.Length > 0))
            {
                continue;
            }

            string x = bn.Input(0);
            if (uses.GetValueOrDefault(x) == 1 && producers.TryGetValue(x, out OnnxNode? conv)
                && conv.Domain.Length == 0 && conv.OpType is "Conv" or "ConvTranspose"
                && constants.Contains(conv.Input(1)) && (!conv.HasInput(2) || constants.Contains(conv.Input(2))))
            {
                _batchNormAfter[conv] = bn;
                _folded.Add(bn);
            }
        }
    }

    /// <summary>The batch normalization to fold into convolution <paramref name="conv"/>, or null.</summary>
    public OnnxNode? BatchNormAfter(OnnxNode conv) => _batchNormAfter.GetValueOrDefault(conv);

    /// <summary>True when <paramref name="node"/> was folded into the node before it (its outputs are defined there).</summary>
    public bool IsFolded(OnnxNode node) => _folded.Contains(node);
}
