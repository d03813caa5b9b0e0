using TorchToNnef.Export.Onnx.Translation;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// Reductions (<c>ReduceMean Sum Max Min Prod L1 L2 SumSquare LogSum LogSumExp</c>, <c>ArgMax ArgMin</c>) as NNEF's
/// <c>*_reduce</c> operators (which keep the reduced axes; <c>keepdims = 0</c> adds a <c>squeeze</c>), and
/// <c>Softmax</c>/<c>LogSoftmax</c> (before opset 13 they act on the input flattened at <c>axis</c>, which is the same
/// as acting on every axis from <c>axis</c> on).
/// </summary>
internal static class ReduceOps
{
    public static void Register(Dictionary<string, OpTranslation> t)
    {
        t["ReduceMean"] = c => Reduce(c, 18, (x, axes) => c.B.Reduce("mean_reduce", x, axes, Name(c)));
        t["ReduceSum"] = c => Reduce(c, 13, (x, axes) => c.B.Reduce("sum_reduce", x, axes, Name(c)));
        t["ReduceMax"] = c => Reduce(c, 18, (x, axes) => c.B.Reduce("max_reduce", x, axes, Name(c)));
        t["ReduceMin"] = c => Reduce(c, 18, (x, axes) => c.B.Reduce("min_reduce", x, axes, Name(c)));
        t["ReduceProd"] = c => Reduce(c, 18, (x, axes) => c.B.Reduce("tract_core_product_reduce", x, axes, Name(c)));
        t["ReduceL1"] = c => Reduce(c, 18, (x, axes) => c.B.Reduce("sum_reduce", c.B.Unary("abs", x), axes, Name(c)));
        t["ReduceL2"] = c => Reduce(c, 18, (x, axes) => c.B.Unary("sqrt", c.B.Reduce("sum_reduce", c.B.Unary("square", x), axes), Name(c)));
        t["ReduceSumSquare"] = c => Reduce(c, 18, (x, axes) => c.B.Reduce("sum_reduce", c.B.Unary("square", x), axes, Name(c)));
        t["ReduceLogSum"] = c => Reduce(c, 18, (x, axes) => c.B.Unary("log", c.B.Reduce("sum_reduce", x, axes), Name(c)));
        t["ReduceLogSumExp"] = c => Reduce(c, 18, (x, axes) =>
        {
            // log(sum(exp(x - max))) + max, stable for large inputs.
            GraphValue max = c.B.Reduce("max_reduce", x, axes);
            GraphValue sum = c.B.Reduce("sum_reduce", c.B.Exp(c.B.Sub(x, max)), axes);
            return c.B.Add(c.B.Unary("log", sum), max, Name(c));
        });
        t["ArgMax"] = c => ArgReduce(c, "argmax_reduce", "tract_core_argmax_reduce_last");
        t["ArgMin"] = c => ArgReduce(c, "argmin_reduce", "tract_core_argmin_reduce_last");
        t["Softmax"] = c => Softmax(c, log: false);
        t["LogSoftmax"] = c => Softmax(c, log: true);
    }

    // The reduced value keeps its axes; with keepdims = 0 a squeeze follows and takes the node's name.
    private static string Name(NodeContext c) => c.A.GetInt("keepdims", 1) != 0 ? c.Hint() : c.Hint() + "_kept";

    // Axes come from the attribute before `axesFromInputOpset`, from input 1 from then on; none means all, unless
    // noop_with_empty_axes.
    private static void Reduce(NodeContext c, int axesFromInputOpset, Func<GraphValue, int[], GraphValue> emit)
    {
        GraphValue x = c.Run(0);
        IReadOnlyList<long>? given = c.Opset >= axesFromInputOpset
            ? (c.Has(1) ? c.ConstLongs(1, "the axes") : null)
            : c.A.GetIntsOrNull("axes");
        if (given is null || given.Count == 0)
        {
            if (c.A.GetInt("noop_with_empty_axes", 0) != 0)
            {
                c.Out(x);
                return;
            }

            given = [.. Enumerable.Range(0, x.Rank).Select(i => (long)i)];
        }

        int[] axes = [.. given.Select(a => c.Axis(a, x.Rank)).Distinct().Order()];
        GraphValue y = emit(x, axes);
        c.Out(c.A.GetInt("keepdims", 1) != 0 ? y : c.B.Squeeze(y, axes, c.Hint()));
    }

    private static void ArgReduce(NodeContext c, string first, string last)
    {
        GraphValue x = c.Run(0);
        int axis = c.Axis(c.A.GetInt("axis", 0), x.Rank);
        bool keep = c.A.GetInt("keepdims", 1) != 0;
        string op = c.A.GetInt("select_last_index", 0) != 0 ? last : first;
        GraphValue y = c.B.Reduce(op, x, [axis], keep ? c.Hint() : c.Hint() + "_kept");
        c.Out(keep ? y : c.B.Squeeze(y, [axis], c.Hint()));
    }

    private static void Softmax(NodeContext c, bool log)
    {
        GraphValue x = c.Run(0);
        long axis = c.A.GetInt("axis", c.Opset >= 13 ? -1 : 1);
        int a = c.Axis(axis, x.Rank);
        int[] axes = c.Opset >= 13 ? [a] : [.. Enumerable.Range(a, x.Rank - a)];
        c.Out(log
            ? c.B.Apply("tract_core_log_softmax", [x], [new("axes", Arg.Ints(axes.Select(v => (long)v)))], c.Hint())
            : c.B.Softmax(x, axes, c.Hint()));
    }
}
