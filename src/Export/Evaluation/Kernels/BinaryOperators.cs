using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// A two-input element-wise operation as a struct (the TensorPrimitives pattern): one scalar definition, which is the
/// reference, and vector forms that must give the same bits lane by lane. <see cref="ElementWiseLoops"/> owns the
/// loops, widths, tails and broadcasting.
/// </summary>
internal interface IBinaryOperator<T>
    where T : struct
{
    /// <summary>False when only the scalar form exists (the loops then never call the vector forms).</summary>
    static abstract bool IsVectorizable { get; }

    /// <summary>Scalar form.</summary>
    static abstract T Invoke(T x, T y);

    /// <summary>128-bit form.</summary>
    static abstract Vector128<T> Invoke(Vector128<T> x, Vector128<T> y);

    /// <summary>256-bit form.</summary>
    static abstract Vector256<T> Invoke(Vector256<T> x, Vector256<T> y);

    /// <summary>512-bit form.</summary>
    static abstract Vector512<T> Invoke(Vector512<T> x, Vector512<T> y);
}

/// <summary><c>x + y</c> (integers wrap).</summary>
internal readonly struct AddOperator<T> : IBinaryOperator<T>
    where T : struct, INumberBase<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x, T y) => unchecked(x + y);

    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => x + y;

    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => x + y;

    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => x + y;
}

/// <summary><c>x - y</c> (integers wrap).</summary>
internal readonly struct SubtractOperator<T> : IBinaryOperator<T>
    where T : struct, INumberBase<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x, T y) => unchecked(x - y);

    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => x - y;

    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => x - y;

    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => x - y;
}

/// <summary><c>x · y</c> (integers wrap).</summary>
internal readonly struct MultiplyOperator<T> : IBinaryOperator<T>
    where T : struct, INumberBase<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x, T y) => unchecked(x * y);

    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => x * y;

    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => x * y;

    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => x * y;
}

/// <summary>Float division as tract evaluates it after decluttering: <c>x · (1 / y)</c>, two roundings.</summary>
internal readonly struct FloatDivideOperator<T> : IBinaryOperator<T>
    where T : struct, IFloatingPointIeee754<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x, T y) => x * (T.One / y);

    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => x * (Vector128<T>.One / y);

    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => x * (Vector256<T>.One / y);

    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => x * (Vector512<T>.One / y);
}

/// <summary>Float minimum: a NaN operand yields the other one; otherwise <c>x &lt; y ? x : y</c> (so min(-0, +0) is +0).</summary>
internal readonly struct FloatMinOperator<T> : IBinaryOperator<T>
    where T : struct, IFloatingPointIeee754<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x, T y) => T.IsNaN(x) ? y : T.IsNaN(y) ? x : x < y ? x : y;

    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> y)
    {
        Vector128<T> r = Vector128.ConditionalSelect(Vector128.LessThan(x, y), x, y);
        r = Vector128.ConditionalSelect(Vector128.Equals(y, y), r, x);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), r, y);
    }

    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y)
    {
        Vector256<T> r = Vector256.ConditionalSelect(Vector256.LessThan(x, y), x, y);
        r = Vector256.ConditionalSelect(Vector256.Equals(y, y), r, x);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), r, y);
    }

    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y)
    {
        Vector512<T> r = Vector512.ConditionalSelect(Vector512.LessThan(x, y), x, y);
        r = Vector512.ConditionalSelect(Vector512.Equals(y, y), r, x);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), r, y);
    }
}

/// <summary>Float maximum: a NaN operand yields the other one; otherwise <c>x &gt; y ? x : y</c>.</summary>
internal readonly struct FloatMaxOperator<T> : IBinaryOperator<T>
    where T : struct, IFloatingPointIeee754<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x, T y) => T.IsNaN(x) ? y : T.IsNaN(y) ? x : x > y ? x : y;

    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> y)
    {
        Vector128<T> r = Vector128.ConditionalSelect(Vector128.GreaterThan(x, y), x, y);
        r = Vector128.ConditionalSelect(Vector128.Equals(y, y), r, x);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), r, y);
    }

    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y)
    {
        Vector256<T> r = Vector256.ConditionalSelect(Vector256.GreaterThan(x, y), x, y);
        r = Vector256.ConditionalSelect(Vector256.Equals(y, y), r, x);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), r, y);
    }

    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y)
    {
        Vector512<T> r = Vector512.ConditionalSelect(Vector512.GreaterThan(x, y), x, y);
        r = Vector512.ConditionalSelect(Vector512.Equals(y, y), r, x);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), r, y);
    }
}

/// <summary>Integer minimum.</summary>
internal readonly struct IntegerMinOperator<T> : IBinaryOperator<T>
    where T : struct, IBinaryInteger<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x, T y) => x < y ? x : y;

    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => Vector128.Min(x, y);

    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => Vector256.Min(x, y);

    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => Vector512.Min(x, y);
}

/// <summary>Integer maximum.</summary>
internal readonly struct IntegerMaxOperator<T> : IBinaryOperator<T>
    where T : struct, IBinaryInteger<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x, T y) => x > y ? x : y;

    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => Vector128.Max(x, y);

    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => Vector256.Max(x, y);

    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => Vector512.Max(x, y);
}

/// <summary>The error of a scalar-only operator asked for a vector form (a bug in a loop, never a user error).</summary>
internal static class ScalarOnly
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static Exception NotVectorizable() => new InvalidOperationException("scalar-only operator called with vectors");
}

/// <summary>Integer division truncating toward zero (Rust's); division by zero is an error.</summary>
internal readonly struct IntegerDivideOperator<T> : IBinaryOperator<T>
    where T : struct, IBinaryInteger<T>
{
    public static bool IsVectorizable => false;

    public static T Invoke(T x, T y) => y == T.Zero ? throw new DivideByZeroException("integer division by zero") : x / y;

    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => throw ScalarOnly.NotVectorizable();

    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => throw ScalarOnly.NotVectorizable();

    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => throw ScalarOnly.NotVectorizable();
}

/// <summary>Float power through the C library's <c>pow</c>.</summary>
internal readonly struct FloatPowOperator<T> : IBinaryOperator<T>
    where T : struct, IFloatingPointIeee754<T>
{
    public static bool IsVectorizable => false;

    public static T Invoke(T x, T y) => T.Pow(x, y);

    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => throw ScalarOnly.NotVectorizable();

    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => throw ScalarOnly.NotVectorizable();

    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => throw ScalarOnly.NotVectorizable();
}

/// <summary>Integer power by squaring, wrapping; the exponent is read as an unsigned 32-bit value (Rust's <c>pow(u32)</c>).</summary>
internal readonly struct IntegerPowOperator<T> : IBinaryOperator<T>
    where T : struct, IBinaryInteger<T>
{
    public static bool IsVectorizable => false;

    public static T Invoke(T x, T y)
    {
        uint e = uint.CreateTruncating(y);
        T r = T.One;
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

    public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) => throw ScalarOnly.NotVectorizable();

    public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) => throw ScalarOnly.NotVectorizable();

    public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) => throw ScalarOnly.NotVectorizable();
}
