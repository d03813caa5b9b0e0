using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// Broadcasting element-wise operations of the binary, comparison, logical and select operators: each picks the
/// operator struct for the storage type and runs it through <see cref="ElementWiseLoops"/> over strided views (no
/// index map, no delegate per element). f16 arithmetic runs on exactly widened values and rounds each result once to
/// f16, as <see cref="Half"/> arithmetic does (division: <c>x · f16(1 / y)</c>).
/// </summary>
internal static class ElementWise
{
    /// <summary><c>op(a, b)</c> over the broadcast <paramref name="shape"/> (ranks already equal), in <paramref name="a"/>'s storage type.</summary>
    public static Array Arithmetic(ArithOp op, TensorValue a, TensorValue b, int[] shape, int threads) => a.Type.Kind switch
    {
        DatumKind.F32 => Float<float>(op, a.Items<float>(), a.ShapeArray, b.Items<float>(), b.ShapeArray, shape, threads),
        DatumKind.F64 => Float<double>(op, a.Items<double>(), a.ShapeArray, b.Items<double>(), b.ShapeArray, shape, threads),
        DatumKind.F16 => Half(op, a, b, shape, threads),
        DatumKind.I8 => Integer<sbyte>(op, a, b, shape, threads),
        DatumKind.I16 => Integer<short>(op, a, b, shape, threads),
        DatumKind.I32 => Integer<int>(op, a, b, shape, threads),
        DatumKind.I64 or DatumKind.TDim => Integer<long>(op, a, b, shape, threads),
        DatumKind.U8 => Integer<byte>(op, a, b, shape, threads),
        DatumKind.U16 => Integer<ushort>(op, a, b, shape, threads),
        DatumKind.U32 => Integer<uint>(op, a, b, shape, threads),
        DatumKind.U64 => Integer<ulong>(op, a, b, shape, threads),
        DatumKind.String when op == ArithOp.Add => RunStrings<ConcatenateOperator>(a.Items<string>(), a.ShapeArray, b.Items<string>(), b.ShapeArray, shape, threads),
        _ => throw new UnsupportedFeatureException(null, null, $"{op.ToString().ToLowerInvariant()} is not defined on {a.Type}"),
    };

    /// <summary>Logical and / or of two bool values.</summary>
    public static bool[] Logical(bool and, TensorValue a, TensorValue b, int[] shape, int threads) => and
        ? Run<AndOperator, bool>(a.Items<bool>(), a.ShapeArray, b.Items<bool>(), b.ShapeArray, shape, threads)
        : Run<OrOperator, bool>(a.Items<bool>(), a.ShapeArray, b.Items<bool>(), b.ShapeArray, shape, threads);

    /// <summary>
    /// A comparison of two values of one storage type (IEEE for floats: every comparison with NaN is false except
    /// <c>ne</c>; ordinal for strings).
    /// </summary>
    public static bool[] Compare(Comparison comparison, TensorValue a, TensorValue b, int[] shape) => a.Type.Kind switch
    {
        DatumKind.F16 => Compare<Half>(comparison, a, b, shape),
        DatumKind.F32 => Compare<float>(comparison, a, b, shape),
        DatumKind.F64 => Compare<double>(comparison, a, b, shape),
        DatumKind.I8 => Compare<sbyte>(comparison, a, b, shape),
        DatumKind.I16 => Compare<short>(comparison, a, b, shape),
        DatumKind.I32 => Compare<int>(comparison, a, b, shape),
        DatumKind.I64 or DatumKind.TDim => Compare<long>(comparison, a, b, shape),
        DatumKind.U8 => Compare<byte>(comparison, a, b, shape),
        DatumKind.U16 => Compare<ushort>(comparison, a, b, shape),
        DatumKind.U32 => Compare<uint>(comparison, a, b, shape),
        DatumKind.U64 => Compare<ulong>(comparison, a, b, shape),
        DatumKind.Bool => Compare<byte>(comparison, Cast.To(a, DatumType.U8), Cast.To(b, DatumType.U8), shape),
        DatumKind.String => CompareStrings(comparison, a, b, shape),
        _ => throw new UnsupportedFeatureException(null, null, $"comparison of {a.Type} values"),
    };

    /// <summary><c>condition ? t : f</c> over the broadcast <paramref name="shape"/>, in the values' storage type.</summary>
    public static Array Select(TensorValue condition, TensorValue t, TensorValue f, int[] shape) => t.Type.Kind switch
    {
        DatumKind.Bool => Select<bool>(condition, t, f, shape),
        DatumKind.U8 => Select<byte>(condition, t, f, shape),
        DatumKind.I8 => Select<sbyte>(condition, t, f, shape),
        DatumKind.I16 => Select<short>(condition, t, f, shape),
        DatumKind.U16 => Select<ushort>(condition, t, f, shape),
        DatumKind.I32 => Select<int>(condition, t, f, shape),
        DatumKind.U32 => Select<uint>(condition, t, f, shape),
        DatumKind.I64 or DatumKind.TDim => Select<long>(condition, t, f, shape),
        DatumKind.U64 => Select<ulong>(condition, t, f, shape),
        DatumKind.F16 => Select<Half>(condition, t, f, shape),
        DatumKind.F32 => Select<float>(condition, t, f, shape),
        DatumKind.F64 => Select<double>(condition, t, f, shape),
        DatumKind.String => Select<string>(condition, t, f, shape),
        _ => throw new UnsupportedFeatureException(null, null, $"select of {t.Type} values"),
    };

    private static T[] Float<T>(ArithOp op, T[] x, int[] xs, T[] y, int[] ys, int[] shape, int threads)
        where T : struct, IFloatingPointIeee754<T> => op switch
        {
            ArithOp.Add => Run<AddOperator<T>, T>(x, xs, y, ys, shape, threads),
            ArithOp.Sub => Run<SubtractOperator<T>, T>(x, xs, y, ys, shape, threads),
            ArithOp.Mul => Run<MultiplyOperator<T>, T>(x, xs, y, ys, shape, threads),
            ArithOp.Div => Run<FloatDivideOperator<T>, T>(x, xs, y, ys, shape, threads),
            ArithOp.Pow => Run<FloatPowOperator<T>, T>(x, xs, y, ys, shape, threads),
            ArithOp.Min => Run<FloatMinOperator<T>, T>(x, xs, y, ys, shape, threads),
            ArithOp.Max => Run<FloatMaxOperator<T>, T>(x, xs, y, ys, shape, threads),
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };

    private static T[] Integer<T>(ArithOp op, TensorValue a, TensorValue b, int[] shape, int threads)
        where T : struct, IBinaryInteger<T>
    {
        T[] x = a.Items<T>();
        T[] y = b.Items<T>();
        int[] xs = a.ShapeArray;
        int[] ys = b.ShapeArray;
        return op switch
        {
            ArithOp.Add => Run<AddOperator<T>, T>(x, xs, y, ys, shape, threads),
            ArithOp.Sub => Run<SubtractOperator<T>, T>(x, xs, y, ys, shape, threads),
            ArithOp.Mul => Run<MultiplyOperator<T>, T>(x, xs, y, ys, shape, threads),
            ArithOp.Div => Run<IntegerDivideOperator<T>, T>(x, xs, y, ys, shape, 1),
            ArithOp.Pow => Run<IntegerPowOperator<T>, T>(x, xs, y, ys, shape, threads),
            ArithOp.Min => Run<IntegerMinOperator<T>, T>(x, xs, y, ys, shape, threads),
            ArithOp.Max => Run<IntegerMaxOperator<T>, T>(x, xs, y, ys, shape, threads),
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
    }

    // f16: the f32 operation on exactly widened values, each result rounded once to f16 (Half's own arithmetic).
    private static Half[] Half(ArithOp op, TensorValue a, TensorValue b, int[] shape, int threads)
    {
        if (op == ArithOp.Pow)
        {
            return Run<FloatPowOperator<System.Half>, System.Half>(a.Items<System.Half>(), a.ShapeArray, b.Items<System.Half>(), b.ShapeArray, shape, 1);
        }

        float[] x = Widen(a.Items<System.Half>());
        float[] y = Widen(b.Items<System.Half>());
        if (op == ArithOp.Div)
        {
            // x · (1 / y) with the reciprocal rounded to f16 first.
            for (int i = 0; i < y.Length; i++)
            {
                y[i] = (float)(System.Half)(1f / y[i]);
            }

            op = ArithOp.Mul;
        }

        float[] r = Float<float>(op, x, a.ShapeArray, y, b.ShapeArray, shape, threads);
        System.Half[] h = TensorPool.Allocate<System.Half>(r.Length);
        TensorPrimitives.ConvertToHalf(r, h);
        return h;
    }

    private static float[] Widen(Half[] values)
    {
        float[] f = TensorPool.Allocate<float>(values.Length);
        TensorPrimitives.ConvertToSingle(values, f);
        return f;
    }

    private static T[] Run<TOp, T>(T[] x, int[] xs, T[] y, int[] ys, int[] shape, int threads)
        where TOp : struct, IBinaryOperator<T>
        where T : struct
    {
        T[] r = TensorPool.Allocate<T>(TensorValue.Volume(shape));
        ElementWiseLoops.Binary<TOp, T>(KernelWidths.Active, x, xs, y, ys, r, shape, threads);
        return r;
    }

    // Strings are references: the same loop shape, but not an operator struct of a value type.
    private static string[] RunStrings<TOp>(string[] x, int[] xs, string[] y, int[] ys, int[] shape, int threads)
        where TOp : struct, IStringOperator
    {
        var r = new string[TensorValue.Volume(shape)];
        Rows(shape, xs, ys, (xo, sx, yo, sy, d, n) =>
        {
            for (int i = 0; i < n; i++)
            {
                r[d + i] = TOp.Invoke(x[xo + (i * sx)], y[yo + (i * sy)]);
            }
        });
        return r;
    }

    private static bool[] Compare<T>(Comparison comparison, TensorValue a, TensorValue b, int[] shape)
        where T : struct, IComparisonOperators<T, T, bool>
    {
        T[] x = a.Items<T>();
        T[] y = b.Items<T>();
        var r = new bool[TensorValue.Volume(shape)];
        Rows(shape, a.ShapeArray, b.ShapeArray, (xo, sx, yo, sy, d, n) =>
        {
            for (int i = 0; i < n; i++)
            {
                T u = x[xo + (i * sx)];
                T v = y[yo + (i * sy)];
                r[d + i] = comparison switch
                {
                    Comparison.Equal => u == v,
                    Comparison.NotEqual => u != v,
                    Comparison.Less => u < v,
                    Comparison.Greater => u > v,
                    Comparison.LessOrEqual => u <= v,
                    _ => u >= v,
                };
            }
        });
        return r;
    }

    private static bool[] CompareStrings(Comparison comparison, TensorValue a, TensorValue b, int[] shape)
    {
        string[] x = a.Items<string>();
        string[] y = b.Items<string>();
        var r = new bool[TensorValue.Volume(shape)];
        Rows(shape, a.ShapeArray, b.ShapeArray, (xo, sx, yo, sy, d, n) =>
        {
            for (int i = 0; i < n; i++)
            {
                int c = string.CompareOrdinal(x[xo + (i * sx)], y[yo + (i * sy)]);
                r[d + i] = comparison switch
                {
                    Comparison.Equal => c == 0,
                    Comparison.NotEqual => c != 0,
                    Comparison.Less => c < 0,
                    Comparison.Greater => c > 0,
                    Comparison.LessOrEqual => c <= 0,
                    _ => c >= 0,
                };
            }
        });
        return r;
    }

    private static T[] Select<T>(TensorValue condition, TensorValue t, TensorValue f, int[] shape)
    {
        bool[] c = condition.Items<bool>();
        T[] tv = t.Items<T>();
        T[] fv = f.Items<T>();
        var r = new T[TensorValue.Volume(shape)];
        if (r.Length == 0)
        {
            return r;
        }

        BroadcastPlan plan = BroadcastPlan.Create(shape, condition.ShapeArray, t.ShapeArray, f.ShapeArray);
        BroadcastPlan.Cursor cursor = plan.At(0);
        int sc = plan.InnerStrides[0], st = plan.InnerStrides[1], sf = plan.InnerStrides[2];
        for (int row = 0; row < plan.Rows; row++)
        {
            int co = cursor.Offsets[0], to = cursor.Offsets[1], fo = cursor.Offsets[2];
            int d = row * plan.Inner;
            for (int i = 0; i < plan.Inner; i++)
            {
                r[d + i] = c[co + (i * sc)] ? tv[to + (i * st)] : fv[fo + (i * sf)];
            }

            cursor.Next();
        }

        return r;
    }

    // Calls body(xOffset, xStride, yOffset, yStride, outOffset, length) for each row of the broadcast.
    private static void Rows(int[] shape, int[] xs, int[] ys, Action<int, int, int, int, int, int> body)
    {
        if (TensorValue.Volume(shape) == 0)
        {
            return;
        }

        BroadcastPlan plan = BroadcastPlan.Create(shape, xs, ys);
        BroadcastPlan.Cursor cursor = plan.At(0);
        for (int row = 0; row < plan.Rows; row++)
        {
            body(cursor.Offsets[0], plan.InnerStrides[0], cursor.Offsets[1], plan.InnerStrides[1], row * plan.Inner, plan.Inner);
            cursor.Next();
        }
    }

    private interface IStringOperator
    {
        static abstract string Invoke(string x, string y);
    }

    private readonly struct ConcatenateOperator : IStringOperator
    {
        public static string Invoke(string x, string y) => x + y;
    }

    private readonly struct AndOperator : IBinaryOperator<bool>
    {
        public static bool IsVectorizable => false;

        public static bool Invoke(bool x, bool y) => x && y;

        public static System.Runtime.Intrinsics.Vector128<bool> Invoke(System.Runtime.Intrinsics.Vector128<bool> x, System.Runtime.Intrinsics.Vector128<bool> y) => throw ScalarOnly.NotVectorizable();

        public static System.Runtime.Intrinsics.Vector256<bool> Invoke(System.Runtime.Intrinsics.Vector256<bool> x, System.Runtime.Intrinsics.Vector256<bool> y) => throw ScalarOnly.NotVectorizable();

        public static System.Runtime.Intrinsics.Vector512<bool> Invoke(System.Runtime.Intrinsics.Vector512<bool> x, System.Runtime.Intrinsics.Vector512<bool> y) => throw ScalarOnly.NotVectorizable();
    }

    private readonly struct OrOperator : IBinaryOperator<bool>
    {
        public static bool IsVectorizable => false;

        public static bool Invoke(bool x, bool y) => x || y;

        public static System.Runtime.Intrinsics.Vector128<bool> Invoke(System.Runtime.Intrinsics.Vector128<bool> x, System.Runtime.Intrinsics.Vector128<bool> y) => throw ScalarOnly.NotVectorizable();

        public static System.Runtime.Intrinsics.Vector256<bool> Invoke(System.Runtime.Intrinsics.Vector256<bool> x, System.Runtime.Intrinsics.Vector256<bool> y) => throw ScalarOnly.NotVectorizable();

        public static System.Runtime.Intrinsics.Vector512<bool> Invoke(System.Runtime.Intrinsics.Vector512<bool> x, System.Runtime.Intrinsics.Vector512<bool> y) => throw ScalarOnly.NotVectorizable();
    }
}

/// <summary>Arithmetic binary operators.</summary>
internal enum ArithOp
{
    /// <summary><c>add</c>.</summary>
    Add,
    /// <summary><c>sub</c>.</summary>
    Sub,
    /// <summary><c>mul</c>.</summary>
    Mul,
    /// <summary><c>div</c>.</summary>
    Div,
    /// <summary><c>pow</c>.</summary>
    Pow,
    /// <summary><c>min</c>.</summary>
    Min,
    /// <summary><c>max</c>.</summary>
    Max,
}

/// <summary>Comparison operators.</summary>
internal enum Comparison
{
    /// <summary><c>eq</c>.</summary>
    Equal,
    /// <summary><c>ne</c>.</summary>
    NotEqual,
    /// <summary><c>lt</c>.</summary>
    Less,
    /// <summary><c>gt</c>.</summary>
    Greater,
    /// <summary><c>le</c>.</summary>
    LessOrEqual,
    /// <summary><c>ge</c>.</summary>
    GreaterOrEqual,
}
