using TorchToNnef.Ir;
using TorchToNnef.Quant.Registry;

namespace TorchToNnef.Export.Compression;

/// <summary>
/// How a variable is consumed, found by looking at the operators that read it (through the leading-axis
/// <c>unsqueeze</c> torch_to_nnef adds for rank alignment): the filter of <c>linear</c>, B of
/// <c>matmul(..., transposeB = true)</c> or the <c>kj</c> operand of a <c>tract_core_einsum</c> (all
/// <see cref="WeightKind.Linear"/>), the kernel of <c>conv</c> (<see cref="WeightKind.Conv1d"/> for rank 3,
/// <see cref="WeightKind.Conv2d"/> for rank 4) and the table of <c>tract_core_gather(axis = 0)</c>
/// (<see cref="WeightKind.Embedding"/>). Any other read makes the weight ineligible: tract accepts Q4_0 only there.
/// </summary>
internal static class WeightUse
{
    /// <summary>One read of a weight.</summary>
    /// <param name="Consumer">The node that reads it.</param>
    /// <param name="Kind">The weight kind, or null for a read Q4_0 cannot serve.</param>
    /// <param name="Via">The value actually read (the weight itself or its unsqueezed alias).</param>
    internal sealed record Use(Node Consumer, WeightKind? Kind, string Via);

    /// <summary>
    /// Every read of <paramref name="weight"/> (a variable of rank <paramref name="rank"/>) in the graph body; operators
    /// are resolved as tract resolves them for this graph (a document fragment shadowing <c>linear</c> is not linear).
    /// </summary>
    public static List<Use> Find(Graph graph, string weight, int rank, GraphIndex index, OperatorResolver resolver)
    {
        var uses = new List<Use>();
        var pending = new Queue<string>([weight]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.TryDequeue(out string? value))
        {
            if (!seen.Add(value))
            {
                continue;
            }

            if (graph.Outputs.Contains(value))
            {
                uses.Add(new Use(new Node("<graph output>", value), null, value));
            }

            foreach (Node n in index.Consumers(value))
            {
                // A graph built without its registry line still names the same operator.
                OperatorSchema? schema = resolver.TryResolve(n.Op) ?? OperatorCatalog.FindAny(n.Op);
                if (schema is null || schema.Registry == OperatorSchema.DocumentRegistry)
                {
                    uses.Add(new Use(n, null, value));
                    continue;
                }

                if (n.Op == "unsqueeze" && IsLeadingUnsqueezeOf(n, schema, value))
                {
                    pending.Enqueue(n.Outputs[0]);
                    continue;
                }

                uses.Add(new Use(n, Classify(n, schema, value, rank), value));
            }
        }

        return uses;
    }

    private static bool IsLeadingUnsqueezeOf(Node n, OperatorSchema schema, string value) =>
        n.Outputs.Count == 1
        && schema.Argument(n, "input") is ValueRef r && r.Name == value
        && n.Inputs.Skip(1).All(a => a is not ValueRef)
        && schema.Argument(n, "axes") is ArrayArg axes && axes.Items.All(a => a is IntLiteral { Value: 0 });

    private static WeightKind? Classify(Node n, OperatorSchema schema, string value, int rank)
    {
        // The value must appear exactly once among the arguments, in the weight position.
        if (n.References.Count(r => r == value) != 1)
        {
            return null;
        }

        bool Is(string name) => schema.Argument(n, name) is ValueRef r && r.Name == value;
        switch (n.Op)
        {
            case "linear" when Is("filter"):
                return WeightKind.Linear;
            case "matmul" when Is("B") && schema.Argument(n, "transposeB") is BoolLiteral { Value: true }:
                return WeightKind.Linear;
            case "conv" when Is("filter"):
                return rank switch
                {
                    3 => WeightKind.Conv1d,
                    4 => WeightKind.Conv2d,
                    _ => null,
                };
            case "tract_core_gather" when Is("input") && schema.Argument(n, "axis") is IntLiteral { Value: 0 }:
                return WeightKind.Embedding;
            case "tract_core_einsum":
                return IsEinsumLinearWeight(n, schema, value) ? WeightKind.Linear : null;
            default:
                return null;
        }
    }

    /// <summary><c>tract_core_einsum([x, w], expr = '...ij,kj->...ik')</c>: w is the second input, a 2-letter operand contracted on its last axis with x's last axis.</summary>
    private static bool IsEinsumLinearWeight(Node n, OperatorSchema schema, string value)
    {
        if (schema.Argument(n, "inputs") is not ArrayArg { Items: [_, ValueRef w] } || w.Name != value
            || schema.Argument(n, "expr") is not StringLiteral expr)
        {
            return false;
        }

        string[] sides = expr.Value.Split("->");
        string[] operands = sides[0].Split(',');
        if (sides.Length != 2 || operands.Length != 2 || operands[1].Length != 2)
        {
            return false;
        }

        string x = operands[0];
        string k = operands[1];
        return x.Length > 0 && k[1] == x[^1] && !x.Contains(k[0], StringComparison.Ordinal) && !sides[1].Contains(k[1], StringComparison.Ordinal);
    }
}
