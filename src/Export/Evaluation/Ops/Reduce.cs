using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// Reductions keeping the reduced axes as size 1 (<c>deser.rs</c> <c>reduce</c>): sum (f32 accumulation; with
/// <c>normalize</c> multiplied by the reciprocal of the reduced volume in the value's type, as tract's decluttered
/// division), max, min, argmax/argmin (first or last occurrence, i64), and <c>tract_core_product_reduce</c>; integer
/// sums and products exactly in 64-bit integers. See <see cref="ReduceKernels"/> for the order values meet in.
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

    /// <summary>
    /// The reduction as kernels see it: the output shape (reduced axes kept as 1), and the value viewed as
    /// <c>[outer, reduced, inner]</c> — itself when the reduced axes are adjacent (after dropping unit axes), else a copy
    /// with the kept axes moved in front (both groups keep their order, so values meet in the same order).
    /// </summary>
    public static (int[] Shape, TensorValue Source, int Outer, int Reduced, int Inner) Plan(TensorValue x, int[] axes)
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
        int first = -1, last = -1;
        bool adjacent = true;
        for (int i = 0; i < x.Rank; i++)
        {
            if (!reduced[i] || x.Shape[i] == 1)
            {
                continue;
            }

            if (first < 0)
            {
                first = i;
            }
            else
            {
                for (int j = last + 1; j < i; j++)
                {
                    adjacent &= x.Shape[j] == 1;
                }
            }

            last = i;
        }

        if (first < 0)
        {
            return (shape, x, x.ElementCount, 1, 1);
        }

        if (adjacent)
        {
            int outer = TensorValue.Volume(x.ShapeArray.AsSpan(0, first));
            int count = TensorValue.Volume(x.ShapeArray.AsSpan(first, last - first + 1));
            return (shape, x, outer, count, TensorValue.Volume(x.ShapeArray.AsSpan(last + 1)));
        }

        int[] perm = [.. Enumerable.Range(0, x.Rank).Where(i => !reduced[i]), .. Enumerable.Range(0, x.Rank).Where(i => reduced[i])];
        int kept = TensorValue.Volume(shape);
        return (shape, Layout.Permute(x, perm), kept, x.ElementCount / Math.Max(1, kept), 1);
    }

    private static TensorOperand Run(Invocation inv, Reducer reducer, bool normalize)
    {
        TensorValue x = inv.Tensor("input");
        int[] axes = inv.Ints("axes");
        (int[] shape, TensorValue source, int outer, int reduced, int inner) = Plan(x, axes);
        if (reduced == 0 && outer * inner > 0 && reducer is not (Reducer.Sum or Reducer.Product))
        {
            throw new InvalidGraphException(null, "reduction of an empty axis");
        }

        TensorValue result = reducer switch
        {
            Reducer.Sum => Sum(source, shape, outer, reduced, inner),
            Reducer.Product => Product(source, shape, outer, reduced, inner),
            Reducer.Max => Extreme(source, shape, outer, reduced, inner, max: true),
            Reducer.Min => Extreme(source, shape, outer, reduced, inner, max: false),
            _ => Arg(source, shape, outer, reduced, inner, reducer),
        };
        if (normalize && result.Type == DatumType.F32 && result.Data is float[] sums)
        {
            // The f32 case of the general division below, without building a divisor tensor: each sum times the
            // reciprocal of the reduced volume converted to f32 (the division operator's x * (1 / y), the cast's rounding).
            long volume = 1;
            for (int i = 0; i < x.Rank; i++)
            {
                volume *= Array.IndexOf(axes, i) >= 0 ? x.Shape[i] : 1;
            }

            float reciprocal = 1f / (float)volume;
            float[] divided = TensorPool.Allocate<float>(sums.Length);
            for (int i = 0; i < sums.Length; i++)
            {
                divided[i] = sums[i] * reciprocal;
            }

            result = TensorValue.Wrap(DatumType.F32, result.ShapeArray, divided);
        }
        else if (normalize)
        {
            long cardinality = axes.Distinct().Aggregate(1L, (p, a) => p * x.Shape[a]);
            TensorValue card = Cast.To(TensorValue.ScalarTDim(cardinality), result.Type);
            result = Binary.Evaluate(ArithOp.Div, result, card.WithShape(Enumerable.Repeat(1, result.Rank).ToArray()));
        }

        return inv.Result(result);
    }

    // Floats sum in f32 (rows in the lane order), integers exactly in 64 bits (wrapping), both cast back.
    private static TensorValue Sum(TensorValue x, int[] shape, int outer, int reduced, int inner)
    {
        if (x.Type.IsFloat)
        {
            var acc = new float[outer * inner];
            ReduceKernels.Sum(KernelWidths.Active, Cast.To(x, DatumType.F32).Items<float>(), outer, reduced, inner, acc);
            return Cast.To(TensorValue.Wrap(DatumType.F32, shape, acc), x.Type);
        }

        if (x.Type.IsInteger || x.Type.Kind == DatumKind.TDim)
        {
            var acc = new long[outer * inner];
            ReduceKernels.IntegerSum<long>(KernelWidths.Active, Cast.ToLongs(x), outer, reduced, inner, acc);
            return Cast.To(TensorValue.Wrap(DatumType.I64, shape, acc), x.Type);
        }

        throw new UnsupportedFeatureException(null, null, $"reduction of {x.Type}");
    }

    private static TensorValue Product(TensorValue x, int[] shape, int outer, int reduced, int inner)
    {
        if (x.Type.IsFloat)
        {
            var acc = new float[outer * inner];
            ReduceKernels.Product<float>(KernelWidths.Active, Cast.To(x, DatumType.F32).Items<float>(), outer, reduced, inner, acc);
            return Cast.To(TensorValue.Wrap(DatumType.F32, shape, acc), x.Type);
        }

        if (x.Type.IsInteger || x.Type.Kind == DatumKind.TDim)
        {
            var acc = new long[outer * inner];
            ReduceKernels.Product<long>(KernelWidths.Active, Cast.ToLongs(x), outer, reduced, inner, acc);
            return Cast.To(TensorValue.Wrap(DatumType.I64, shape, acc), x.Type);
        }

        throw new UnsupportedFeatureException(null, null, $"reduction of {x.Type}");
    }

    // The chosen element itself, in the value's own type (quantized codes compared raw).
    private static TensorValue Extreme(TensorValue x, int[] shape, int outer, int reduced, int inner, bool max)
    {
        TensorValue raw = x.Type.IsQuantized ? x.WithType(x.Type.Unquantized) : x;
        Array result = raw.Type.Kind switch
        {
            DatumKind.F32 => Extreme<float>(raw, outer, reduced, inner, max),
            DatumKind.F64 => Extreme<double>(raw, outer, reduced, inner, max),
            DatumKind.F16 => Extreme<Half>(raw, outer, reduced, inner, max),
            DatumKind.I8 => Extreme<sbyte>(raw, outer, reduced, inner, max),
            DatumKind.I16 => Extreme<short>(raw, outer, reduced, inner, max),
            DatumKind.I32 => Extreme<int>(raw, outer, reduced, inner, max),
            DatumKind.I64 or DatumKind.TDim => Extreme<long>(raw, outer, reduced, inner, max),
            DatumKind.U8 => Extreme<byte>(raw, outer, reduced, inner, max),
            DatumKind.U16 => Extreme<ushort>(raw, outer, reduced, inner, max),
            DatumKind.U32 => Extreme<uint>(raw, outer, reduced, inner, max),
            DatumKind.U64 => Extreme<ulong>(raw, outer, reduced, inner, max),
            DatumKind.Bool => Cast.To(TensorValue.Wrap(DatumType.U8, shape, Extreme<byte>(Cast.To(raw, DatumType.U8), outer, reduced, inner, max)), DatumType.Bool).Data!,
            _ => throw new UnsupportedFeatureException(null, null, $"reduction of {x.Type}"),
        };
        return TensorValue.Wrap(x.Type, shape, result);
    }

    private static T[] Extreme<T>(TensorValue x, int outer, int reduced, int inner, bool max)
        where T : struct, System.Numerics.INumber<T>
    {
        var result = new T[outer * inner];
        ReduceKernels.Extreme<T>(KernelWidths.Active, x.Items<T>(), outer, reduced, inner, result, max);
        return result;
    }

    private static TensorValue Arg(TensorValue x, int[] shape, int outer, int reduced, int inner, Reducer reducer)
    {
        bool max = reducer is Reducer.ArgMax or Reducer.ArgMaxLast;
        bool last = reducer is Reducer.ArgMaxLast or Reducer.ArgMinLast;
        TensorValue raw = x.Type.IsQuantized ? x.WithType(x.Type.Unquantized) : x.Type.Kind == DatumKind.TDim ? x.WithType(DatumType.I64) : x;
        var position = new long[outer * inner];
        switch (raw.Type.Kind)
        {
            case DatumKind.F32: ReduceKernels.ArgExtreme<float>(raw.Items<float>(), outer, reduced, inner, position, max, last); break;
            case DatumKind.F64: ReduceKernels.ArgExtreme<double>(raw.Items<double>(), outer, reduced, inner, position, max, last); break;
            case DatumKind.F16: ReduceKernels.ArgExtreme<Half>(raw.Items<Half>(), outer, reduced, inner, position, max, last); break;
            case DatumKind.U64: ReduceKernels.ArgExtreme<ulong>(raw.Items<ulong>(), outer, reduced, inner, position, max, last); break;
            default: ReduceKernels.ArgExtreme<long>(Cast.ToLongs(raw), outer, reduced, inner, position, max, last); break;
        }

        return TensorValue.Wrap(DatumType.I64, shape, position);
    }
}
