using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Formats.Onnx;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// <c>If</c> whose condition is known at export time (often once an input is frozen with <c>--input-value</c>): the
/// taken branch is translated in place, in a scope of its own that still sees the outer values; the other branch is
/// never translated. A condition computed at run time is refused (tract has no conditional).
/// </summary>
internal static class ControlOps
{
    public static void Register(Dictionary<string, OpTranslation> t) => t["If"] = If;

    private static void If(NodeContext c)
    {
        Known cond = c.KnownIn(0) is Known k && k.IsConcrete && k.Count == 1
            ? k
            : throw c.Unsupported("an If whose condition is computed at run time (freeze the inputs it depends on with --input-value)");
        OnnxGraph branch = c.A.GetGraph(cond.ToLongs()[0] != 0 ? "then_branch" : "else_branch");
        if (branch.Outputs.Count != c.Node.Outputs.Count)
        {
            throw c.Invalid($"the branch has {branch.Outputs.Count} outputs, the node {c.Node.Outputs.Count}");
        }

        IReadOnlyList<OnnxValue> results = c.T.InScope(() =>
        {
            foreach (OnnxTensor t in branch.InitializerList)
            {
                c.T.Define(t.Name, c.T.ConstValue(t));
            }

            c.T.TranslateNodes(branch.Nodes);
            return (IReadOnlyList<OnnxValue>)[.. branch.Outputs.Select(o => c.T.Lookup(o.Name, $"{c.Node} branch output"))];
        });
        for (int i = 0; i < results.Count; i++)
        {
            c.Out(results[i], i);
        }

        c.T.Note($"If '{c.Node.DisplayName}' folded: condition {cond}, branch '{branch.Name}' inlined");
    }
}
