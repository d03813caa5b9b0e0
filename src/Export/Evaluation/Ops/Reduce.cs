using System.Numerics.Tensors;
using TorchToNnef.Errors;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// Reductions keeping the reduced axes as size 1 (<c>deser.rs</c> <c>reduce</c>): sum (f32 accumulation; with
/// <c>normalize</c> multiplied by the reciprocal of the reduced volume in the value's type, as tract's decluttered
/// division), max, min, argmax/argmin (first or last occurrence, i64), and <c>tract_core_product_reduce</c>.
/// </summary>
internal static class Reduce
{
    private enum Reducer
    {
        Sum,
        Max,
        Min,
        ArgMax,
        ArgMin,
        ArgMaxLast,
        ArgMinLast,
        Product,
    }

    public static void Register(OpRegistry nnef, OpRegistry core)
    {
        nnef.Primitive("sum_reduce", inv => Run(inv, Reducer.Sum, inv.Bool("normalize")));
        nnef.Primitive("max_reduce", inv => Run(inv, Reducer.Max, false));
        nnef.Primitive("min_reduce", inv => Run(inv, Reducer.Min, false));
        nnef.Primitive("argmax_reduce", inv => Run(inv, Reducer.ArgMax, false));
        nnef.Primitive("argmin_reduce", inv => Run(inv, Reducer.ArgMin, false));
        core.Primitive("tract_core_argmax_reduce_last", inv => Run(inv, Reducer.ArgMaxLast, false));
        core.Primitive("tract_core_argmin_reduce_last", inv => Run(inv, Reducer.ArgMinLast, false));
        core.Primitive("tract_core_product_reduce", inv => Run(inv, Reducer.Product, false));
    }

    /// <summary>Output shape and, for each input element, the output element it folds into.</summary>
    public static (int[] Shape, int[] Map) Plan(TensorValue x, int[] axes)
    {
        var reduced = new bool[x.Rank];
        foreach (int a in axes)
        {
            if (a < 0 || a >= x.Rank)
            {
                throw new InvalidGraphException(null, $"reduction axis {a} is outside rank {x.Rank}");
            }

            reduced[a] = true;
        }

        int[] shape = x.ShapeArray.Select((d, i) => reduced[i] ? 1 : d).ToArray();
        int[] outStrides = Layout.Strides(shape);
        int[] strides = outStrides.Select((s, i) => reduced[i] ? 0 : s).ToArray();
        var map = new int[x.ElementCount];
        Layout.FillMap(map, x.Shape, strides, 0);
        return (shape, map);
    }

    private static TensorOperand Run(Invocation inv, Reducer reducer, bool normalize)
    {
        TensorValue x = inv.Tensor("input");
        int[] axes = inv.Ints("axes");
        (int[] shape, int[] map) = Plan(x, axes);
        int n = TensorValue.Volume(shape);
        TensorValue result = reducer switch
        {
            Reducer.Sum => Sum(x, axes, shape, map, n),
            Reducer.Product => Fold(x, shape, map, n, 1.0, static (a, b) => a * b),
            Reducer.Max => Extreme(x, shape, map, n, max: true),
            Reducer.Min => Extreme(x, shape, map, n, max: false),
            _ => Arg(x, shape, map, n, reducer),
        };
        if (normalize)
        {
            long cardinality = axes.Distinct().Aggregate(1L, (p, a) => p * x.Shape[a]);
            TensorValue card = Cast.To(TensorValue.ScalarTDim(cardinality), result.Type);
            result = Binary.Evaluate(ArithOp.Div, result, card.WithShape(Enumerable.Repeat(1, result.Rank).ToArray()));
        }

        return inv.Result(result);
    }

    private static TensorValue Sum(TensorValue x, int[] axes, int[] shape, int[] map, int n)
    {
        if (x.Type.IsFloat)
        {
            float[] f = x.Type.Kind == DatumKind.F32 ? x.Items<float>() : Cast.To(x, DatumType.F32).Items<float>();
            var acc = new float[n];
            int inner = InnerReducedVolume(x, axes);
            if (inner > 1)
            {
                // The reduced axes are the innermost ones: each output is one contiguous run, summed vectorized.
                for (int o = 0; o < n; o++)
                {
                    acc[o] = TensorPrimitives.Sum(f.AsSpan(o * inner, inner));
                }
            }
            else
            {
                for (int i = 0; i < f.Length; i++)
                {
                    acc[map[i]] += f[i];
                }
            }

            return Cast.To(TensorValue.Wrap(DatumType.F32, shape, acc), x.Type);
        }

        return Fold(x, shape, map, n, 0.0, static (a, b) => a + b);
    }

    private static int InnerReducedVolume(TensorValue x, int[] axes)
    {
        var set = axes.ToHashSet();
        int k = x.Rank;
        while (k > 0 && set.Contains(k - 1))
        {
            k--;
        }

        return set.All(a => a >= k) && set.Count > 0 ? TensorValue.Volume(x.ShapeArray.AsSpan(k)) : 1;
    }

    private static TensorValue Fold(TensorValue x, int[] shape, int[] map, int n, double seed, Func<double, double, double> f)
    {
        if (x.Type.IsInteger || x.Type.Kind == DatumKind.TDim)
        {
            long[] v = Cast.ToLongs(x);
            var acc = new long[n];
            Array.Fill(acc, (long)seed);
            for (int i = 0; i < v.Length; i++)
            {
                acc[map[i]] = unchecked((long)f(acc[map[i]], v[i]));
            }

            return Cast.To(TensorValue.Wrap(DatumType.I64, shape, acc), x.Type);
        }

        if (!x.Type.IsFloat)
        {
            throw new UnsupportedFeatureException(null, null, $"reduction of {x.Type}");
        }

        float[] values = Cast.To(x, DatumType.F32).Items<float>();
        var facc = new float[n];
        Array.Fill(facc, (float)seed);
        for (int i = 0; i < values.Length; i++)
        {
            facc[map[i]] = (float)f(facc[map[i]], values[i]);
        }

        return Cast.To(TensorValue.Wrap(DatumType.F32, shape, facc), x.Type);
    }

    private static TensorValue Extreme(TensorValue x, int[] shape, int[] map, int n, bool max)
    {
        int[] chosen = Choose(x, map, n, max, last: false);
        return Layout.Take(x, shape, chosen);
    }

    private static TensorValue Arg(TensorValue x, int[] shape, int[] map, int n, Reducer reducer)
    {
        bool max = reducer is Reducer.ArgMax or Reducer.ArgMaxLast;
        bool last = reducer is Reducer.ArgMaxLast or Reducer.ArgMinLast;
        int[] chosen = Choose(x, map, n, max, last);

        // Position of the chosen element along the reduced axes: count the earlier elements mapping to the same output.
        var position = new long[n];
        var seen = new long[n];
        for (int i = 0; i < map.Length; i++)
        {
            if (i == chosen[map[i]])
            {
                position[map[i]] = seen[map[i]];
            }

            seen[map[i]]++;
        }

        return TensorValue.Wrap(DatumType.I64, shape, position);
    }

    private static int[] Choose(TensorValue x, int[] map, int n, bool max, bool last)
    {
        if (x.ElementCount == 0 && n > 0)
        {
            throw new InvalidGraphException(null, "reduction of an empty axis");
        }

        double[] v = Cast.ToDoubles(x.Type.IsQuantized ? x.WithType(x.Type.Unquantized) : x.Type.Kind == DatumKind.TDim ? x.WithType(DatumType.I64) : x);
        var chosen = new int[n];
        Array.Fill(chosen, -1);
        for (int i = 0; i < v.Length; i++)
        {
            int o = map[i];
            int c = chosen[o];
            bool better = c < 0
                || (max ? v[i] > v[c] : v[i] < v[c])
                || (last && v[i] == v[c]);
            if (better)
            {
                chosen[o] = i;
            }
        }

        return chosen;
    }
}
