using TorchToNnef.Errors;
using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// <c>If</c>. A condition known at export time (often once an input is frozen with <c>--input-value</c>) inlines the
/// taken branch in place, in a scope of its own that still sees the outer values; the other branch is never translated.
/// tract has no conditional, so a condition computed at run time (a score compared with a threshold, as wake-word
/// models gate their verifier) computes both branches and picks each output with <c>select</c>: exact, since ONNX
/// branches have no side effects, at the cost of running the branch not taken. That needs branches whose outputs agree
/// in type and shape; any other run-time <c>If</c> is refused before anything is written.
/// </summary>
internal static class ControlOps
{
    public static void Register(Dictionary<string, OpTranslation> t) => t["If"] = If;

    private const string Remedy = "freeze the inputs it depends on with --input-value, or give --input-shape when it tests a dimension";

    private static void If(NodeContext c)
    {
        if (c.KnownIn(0) is Known k && k.IsConcrete)
        {
            if (k.Count != 1)
            {
                throw c.Invalid($"the condition has {k.Count} elements, not 1");
            }

            OnnxGraph taken = Branch(c, k.ToLongs()[0] != 0 ? "then_branch" : "else_branch");
            IReadOnlyList<OnnxValue> results = Inline(c, taken);
            for (int i = 0; i < results.Count; i++)
            {
                c.Out(results[i], i);
            }

            c.T.Note($"If '{c.Node.DisplayName}' folded: condition {k}, branch '{taken.Name}' inlined");
            return;
        }

        SelectBetweenBranches(c);
    }

    private static void SelectBetweenBranches(NodeContext c)
    {
        IReadOnlyList<Dim> condShape = c.ShapeOf(0);
        if (c.TypeOf(0) != DType.Bool || !condShape.All(d => d.TryGetConstant(out long v) && v == 1))
        {
            throw c.Unsupported($"an If whose condition ({c.TypeOf(0).Name()}[{string.Join(", ", condShape)}]) is computed at run time must have one bool element to be selected on; {Remedy}");
        }

        OnnxGraph thenGraph = Branch(c, "then_branch");
        OnnxGraph elseGraph = Branch(c, "else_branch");
        IReadOnlyList<OnnxValue> thenValues = InlineForSelect(c, thenGraph);
        IReadOnlyList<OnnxValue> elseValues = InlineForSelect(c, elseGraph);
        GraphValue? cond = null;
        for (int i = 0; i < thenValues.Count; i++)
        {
            OnnxValue t = thenValues[i];
            OnnxValue e = elseValues[i];
            if (ReferenceEquals(t, e))
            {
                c.Out(t, i);
                continue;
            }

            IReadOnlyList<Dim> ts = c.ShapeOfValue(t);
            IReadOnlyList<Dim> es = c.ShapeOfValue(e);
            if (t.DType != e.DType || !ts.SequenceEqual(es))
            {
                throw c.Unsupported(
                    $"an If whose condition is computed at run time is translated as a select between both branches, but output {i} is {t.DType.Name()}[{string.Join(", ", ts)}] in '{thenGraph.Name}' and {e.DType.Name()}[{string.Join(", ", es)}] in '{elseGraph.Name}'; {Remedy}");
            }

            // One condition value for every output, reshaped to the outputs' rank (all unit axes) so that select
            // broadcasts it the same way in tract and in the evaluator.
            GraphValue selectOn = cond is not null && cond.Rank == ts.Count ? cond : cond = Condition(c, ts.Count);
            c.Out(c.B.Select(selectOn, c.T.Runtime(t), c.T.Runtime(e), c.Hint(i)), i);
        }

        c.T.Note($"If '{c.Node.DisplayName}': condition computed at run time, both branches ('{thenGraph.Name}', '{elseGraph.Name}') are computed and each output selected");
    }

    private static GraphValue Condition(NodeContext c, int rank)
    {
        GraphValue cond = c.Run(0);
        return cond.Rank == rank ? cond : c.B.Reshape(cond, [.. Enumerable.Repeat((Dim)1, rank)], c.Hint() + "_cond");
    }

    private static IReadOnlyList<OnnxValue> InlineForSelect(NodeContext c, OnnxGraph branch)
    {
        try
        {
            return Inline(c, branch);
        }
        catch (TorchToNnefException e) when (e is UnsupportedFeatureException or InvalidInputFileException)
        {
            // Both branches run in the archive: one that cannot be translated (often the branch a shape test guards
            // against) makes the whole If impossible to express without knowing the condition.
            string inner = e.Message.StartsWith(c.T.File + ": ", StringComparison.Ordinal) ? e.Message[(c.T.File.Length + 2)..] : e.Message;
            throw c.Unsupported($"an If whose condition is computed at run time is translated as a select between both branches, but branch '{branch.Name}' cannot be: {inner}; {Remedy}");
        }
    }

    private static OnnxGraph Branch(NodeContext c, string attribute)
    {
        OnnxGraph branch = c.A.GetGraph(attribute);
        return branch.Outputs.Count == c.Node.Outputs.Count
            ? branch
            : throw c.Invalid($"{attribute} has {branch.Outputs.Count} outputs, the node {c.Node.Outputs.Count}");
    }

    private static IReadOnlyList<OnnxValue> Inline(NodeContext c, OnnxGraph branch) => c.T.InScope(() =>
    {
        foreach (OnnxTensor t in branch.InitializerList)
        {
            c.T.Define(t.Name, c.T.ConstValue(t));
        }

        c.T.TranslateNodes(branch.Nodes);
        return (IReadOnlyList<OnnxValue>)[.. branch.Outputs.Select(o => c.T.Lookup(o.Name, $"{c.Node} branch output"))];
    });
}
