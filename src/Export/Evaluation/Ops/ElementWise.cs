using System.Numerics;
using System.Numerics.Tensors;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>Broadcasting element-wise loops shared by the binary, comparison and select operators.</summary>
internal static class ElementWise
{
    /// <summary><c>out[i] = f(a[ia], b[ib])</c> over the broadcast <paramref name="shape"/> (ranks already equal).</summary>
    public static TOut[] Map<TIn, TOut>(TensorValue a, TensorValue b, int[] shape, Func<TIn, TIn, TOut> f)
    {
        TIn[] x = a.Items<TIn>();
        TIn[] y = b.Items<TIn>();
        int n = TensorValue.Volume(shape);
        var r = new TOut[n];
        bool aFull = a.Shape.SequenceEqual(shape);
        bool bFull = b.Shape.SequenceEqual(shape);
        if (aFull && bFull)
        {
            for (int i = 0; i < n; i++)
            {
                r[i] = f(x[i], y[i]);
            }
        }
        else if (aFull && y.Length == 1)
        {
            TIn s = y[0];
            for (int i = 0; i < n; i++)
            {
                r[i] = f(x[i], s);
            }
        }
        else if (bFull && x.Length == 1)
        {
            TIn s = x[0];
            for (int i = 0; i < n; i++)
            {
                r[i] = f(s, y[i]);
            }
        }
        else
        {
            int[] ma = Layout.BroadcastMap(a.Shape, shape);
            int[] mb = Layout.BroadcastMap(b.Shape, shape);
            for (int i = 0; i < n; i++)
            {
                r[i] = f(x[ma[i]], y[mb[i]]);
            }
        }

        return r;
    }

    /// <summary>f32 fast paths through <see cref="TensorPrimitives"/> (each element rounded once, like the scalar loop).</summary>
    public static float[]? TryVectorized(ArithOp op, TensorValue a, TensorValue b, int[] shape)
    {
        if (a.Type.Kind != DatumKind.F32 || !a.Shape.SequenceEqual(shape) || op is ArithOp.Pow or ArithOp.Min or ArithOp.Max or ArithOp.Div)
        {
            return null;
        }

        float[] x = a.Items<float>();
        float[] y = b.Items<float>();
        var r = new float[x.Length];
        if (b.Shape.SequenceEqual(shape))
        {
            switch (op)
            {
                case ArithOp.Add: TensorPrimitives.Add(x, y, r); return r;
                case ArithOp.Sub: TensorPrimitives.Subtract(x, y, r); return r;
                case ArithOp.Mul: TensorPrimitives.Multiply(x, y, r); return r;
            }
        }
        else if (y.Length == 1)
        {
            switch (op)
            {
                case ArithOp.Add: TensorPrimitives.Add(x, y[0], r); return r;
                case ArithOp.Sub: TensorPrimitives.Subtract(x, y[0], r); return r;
                case ArithOp.Mul: TensorPrimitives.Multiply(x, y[0], r); return r;
            }
        }

        return null;
    }

    /// <summary>Float arithmetic as tract evaluates it after decluttering (division as multiplication by the reciprocal).</summary>
    public static Func<T, T, T> Float<T>(ArithOp op)
        where T : IFloatingPointIeee754<T> => op switch
        {
            ArithOp.Add => static (a, b) => a + b,
            ArithOp.Sub => static (a, b) => a - b,
            ArithOp.Mul => static (a, b) => a * b,
            ArithOp.Div => static (a, b) => a * (T.One / b),
            ArithOp.Pow => static (a, b) => T.Pow(a, b),
            ArithOp.Min => static (a, b) => T.IsNaN(a) ? b : T.IsNaN(b) ? a : a < b ? a : b,
            ArithOp.Max => static (a, b) => T.IsNaN(a) ? b : T.IsNaN(b) ? a : a > b ? a : b,
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };

    /// <summary>Integer arithmetic with Rust's release semantics (wrapping), division truncating toward zero.</summary>
    public static Func<T, T, T> Integer<T>(ArithOp op)
        where T : IBinaryInteger<T> => op switch
        {
            ArithOp.Add => static (a, b) => unchecked(a + b),
            ArithOp.Sub => static (a, b) => unchecked(a - b),
            ArithOp.Mul => static (a, b) => unchecked(a * b),
            ArithOp.Div => static (a, b) => b == T.Zero ? throw new DivideByZeroException("integer division by zero") : a / b,
            ArithOp.Pow => static (a, b) => IntPow(a, b),
            ArithOp.Min => static (a, b) => a < b ? a : b,
            ArithOp.Max => static (a, b) => a > b ? a : b,
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };

    private static T IntPow<T>(T a, T b)
        where T : IBinaryInteger<T>
    {
        uint e = uint.CreateTruncating(b);
        T r = T.One;
        T x = a;
        while (e != 0)
        {
            if ((e & 1) != 0)
            {
                r = unchecked(r * x);
            }

            e >>= 1;
            x = unchecked(x * x);
        }

        return r;
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
