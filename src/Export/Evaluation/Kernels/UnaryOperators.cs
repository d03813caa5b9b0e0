using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>A one-input element-wise operation as a struct: the scalar form is the reference, vector forms match it lane by lane.</summary>
internal interface IUnaryOperator<T>
    where T : struct
{
    /// <summary>False when only the scalar form exists.</summary>
    static abstract bool IsVectorizable { get; }

    /// <summary>Scalar form.</summary>
    static abstract T Invoke(T x);

    /// <summary>128-bit form.</summary>
    static abstract Vector128<T> Invoke(Vector128<T> x);

    /// <summary>256-bit form.</summary>
    static abstract Vector256<T> Invoke(Vector256<T> x);

    /// <summary>512-bit form.</summary>
    static abstract Vector512<T> Invoke(Vector512<T> x);
}

/// <summary><see cref="ExpKernel"/>.</summary>
internal readonly struct ExpOperator : IUnaryOperator<float>
{
    public static bool IsVectorizable => true;

    public static float Invoke(float x) => ExpKernel.Exp(x);

    public static Vector128<float> Invoke(Vector128<float> x) => ExpKernel.Exp(x);

    public static Vector256<float> Invoke(Vector256<float> x) => ExpKernel.Exp(x);

    public static Vector512<float> Invoke(Vector512<float> x) => ExpKernel.Exp(x);
}

/// <summary>|x| (integers wrap at the minimum).</summary>
internal readonly struct AbsOperator<T> : IUnaryOperator<T>
    where T : struct, INumberBase<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x) => T.IsNegative(x) ? unchecked(-x) : T.IsNaN(x) ? x : T.Abs(x);

    public static Vector128<T> Invoke(Vector128<T> x) => Vector128.Abs(x);

    public static Vector256<T> Invoke(Vector256<T> x) => Vector256.Abs(x);

    public static Vector512<T> Invoke(Vector512<T> x) => Vector512.Abs(x);
}

/// <summary>-x (integers wrap).</summary>
internal readonly struct NegateOperator<T> : IUnaryOperator<T>
    where T : struct, INumberBase<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x) => unchecked(-x);

    public static Vector128<T> Invoke(Vector128<T> x) => -x;

    public static Vector256<T> Invoke(Vector256<T> x) => -x;

    public static Vector512<T> Invoke(Vector512<T> x) => -x;
}

/// <summary>x · x (integers wrap).</summary>
internal readonly struct SquareOperator<T> : IUnaryOperator<T>
    where T : struct, INumberBase<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x) => unchecked(x * x);

    public static Vector128<T> Invoke(Vector128<T> x) => x * x;

    public static Vector256<T> Invoke(Vector256<T> x) => x * x;

    public static Vector512<T> Invoke(Vector512<T> x) => x * x;
}

/// <summary>Correctly rounded square root.</summary>
internal readonly struct SqrtOperator<T> : IUnaryOperator<T>
    where T : struct, IFloatingPointIeee754<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x) => T.Sqrt(x);

    public static Vector128<T> Invoke(Vector128<T> x) => Vector128.Sqrt(x);

    public static Vector256<T> Invoke(Vector256<T> x) => Vector256.Sqrt(x);

    public static Vector512<T> Invoke(Vector512<T> x) => Vector512.Sqrt(x);
}

/// <summary>1 / x.</summary>
internal readonly struct ReciprocalOperator<T> : IUnaryOperator<T>
    where T : struct, IFloatingPointIeee754<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x) => T.One / x;

    public static Vector128<T> Invoke(Vector128<T> x) => Vector128<T>.One / x;

    public static Vector256<T> Invoke(Vector256<T> x) => Vector256<T>.One / x;

    public static Vector512<T> Invoke(Vector512<T> x) => Vector512<T>.One / x;
}

/// <summary>1 / sqrt(x), two roundings.</summary>
internal readonly struct ReciprocalSqrtOperator<T> : IUnaryOperator<T>
    where T : struct, IFloatingPointIeee754<T>
{
    public static bool IsVectorizable => Vector128<T>.IsSupported;

    public static T Invoke(T x) => T.One / T.Sqrt(x);

    public static Vector128<T> Invoke(Vector128<T> x) => Vector128<T>.One / Vector128.Sqrt(x);

    public static Vector256<T> Invoke(Vector256<T> x) => Vector256<T>.One / Vector256.Sqrt(x);

    public static Vector512<T> Invoke(Vector512<T> x) => Vector512<T>.One / Vector512.Sqrt(x);
}

/// <summary>Round down.</summary>
internal readonly struct FloorOperator : IUnaryOperator<float>
{
    public static bool IsVectorizable => true;

    public static float Invoke(float x) => MathF.Floor(x);

    public static Vector128<float> Invoke(Vector128<float> x) => Vector128.Floor(x);

    public static Vector256<float> Invoke(Vector256<float> x) => Vector256.Floor(x);

    public static Vector512<float> Invoke(Vector512<float> x) => Vector512.Floor(x);
}

/// <summary>Round up.</summary>
internal readonly struct CeilingOperator : IUnaryOperator<float>
{
    public static bool IsVectorizable => true;

    public static float Invoke(float x) => MathF.Ceiling(x);

    public static Vector128<float> Invoke(Vector128<float> x) => Vector128.Ceiling(x);

    public static Vector256<float> Invoke(Vector256<float> x) => Vector256.Ceiling(x);

    public static Vector512<float> Invoke(Vector512<float> x) => Vector512.Ceiling(x);
}

/// <summary>Round half to even.</summary>
internal readonly struct RoundEvenOperator : IUnaryOperator<float>
{
    public static bool IsVectorizable => true;

    public static float Invoke(float x) => MathF.Round(x, MidpointRounding.ToEven);

    public static Vector128<float> Invoke(Vector128<float> x) => Vector128.Round(x);

    public static Vector256<float> Invoke(Vector256<float> x) => Vector256.Round(x);

    public static Vector512<float> Invoke(Vector512<float> x) => Vector512.Round(x);
}

/// <summary>tract's f32 sigmoid (<see cref="Activations.Sigmoid(float)"/>), the same operations in vectors.</summary>
internal readonly struct SigmoidOperator : IUnaryOperator<float>
{
    public static bool IsVectorizable => true;

    public static float Invoke(float x) => Activations.Sigmoid(x);

    public static Vector128<float> Invoke(Vector128<float> x)
    {
        x = Clamp(x, -18.6f, 18.6f);
        Vector128<float> x2 = x * x;
        Vector128<float> p = (x2 * Vector128.Create(-4.433153405e-18f)) + Vector128.Create(1.169974371e-14f);
        p = (x2 * p) + Vector128.Create(-1.875289645e-11f);
        p = (x2 * p) + Vector128.Create(4.257889523e-8f);
        p = (x2 * p) + Vector128.Create(0.00004811817576f);
        p = (x2 * p) + Vector128.Create(0.008163842030f);
        p = (x2 * p) + Vector128.Create(0.2499999971f);
        p *= x;
        Vector128<float> q = (x2 * Vector128.Create(3.922935744e-6f)) + Vector128.Create(0.001524872358f);
        q = (x2 * q) + Vector128.Create(0.1159886749f);
        q = (x2 * q) + Vector128<float>.One;
        return Clamp((p / q) + Vector128.Create(0.5f), 0f, 1f);
    }

    public static Vector256<float> Invoke(Vector256<float> x)
    {
        x = Clamp(x, -18.6f, 18.6f);
        Vector256<float> x2 = x * x;
        Vector256<float> p = (x2 * Vector256.Create(-4.433153405e-18f)) + Vector256.Create(1.169974371e-14f);
        p = (x2 * p) + Vector256.Create(-1.875289645e-11f);
        p = (x2 * p) + Vector256.Create(4.257889523e-8f);
        p = (x2 * p) + Vector256.Create(0.00004811817576f);
        p = (x2 * p) + Vector256.Create(0.008163842030f);
        p = (x2 * p) + Vector256.Create(0.2499999971f);
        p *= x;
        Vector256<float> q = (x2 * Vector256.Create(3.922935744e-6f)) + Vector256.Create(0.001524872358f);
        q = (x2 * q) + Vector256.Create(0.1159886749f);
        q = (x2 * q) + Vector256<float>.One;
        return Clamp((p / q) + Vector256.Create(0.5f), 0f, 1f);
    }

    public static Vector512<float> Invoke(Vector512<float> x)
    {
        x = Clamp(x, -18.6f, 18.6f);
        Vector512<float> x2 = x * x;
        Vector512<float> p = (x2 * Vector512.Create(-4.433153405e-18f)) + Vector512.Create(1.169974371e-14f);
        p = (x2 * p) + Vector512.Create(-1.875289645e-11f);
        p = (x2 * p) + Vector512.Create(4.257889523e-8f);
        p = (x2 * p) + Vector512.Create(0.00004811817576f);
        p = (x2 * p) + Vector512.Create(0.008163842030f);
        p = (x2 * p) + Vector512.Create(0.2499999971f);
        p *= x;
        Vector512<float> q = (x2 * Vector512.Create(3.922935744e-6f)) + Vector512.Create(0.001524872358f);
        q = (x2 * q) + Vector512.Create(0.1159886749f);
        q = (x2 * q) + Vector512<float>.One;
        return Clamp((p / q) + Vector512.Create(0.5f), 0f, 1f);
    }

    /// <summary><see cref="Math.Clamp(float, float, float)"/> lane by lane (NaN passes through).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> Clamp(Vector128<float> x, float low, float high)
    {
        x = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128.Create(low)), Vector128.Create(low), x);
        return Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128.Create(high)), Vector128.Create(high), x);
    }

    /// <inheritdoc cref="Clamp(Vector128{float}, float, float)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Clamp(Vector256<float> x, float low, float high)
    {
        x = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(low)), Vector256.Create(low), x);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(high)), Vector256.Create(high), x);
    }

    /// <inheritdoc cref="Clamp(Vector128{float}, float, float)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Clamp(Vector512<float> x, float low, float high)
    {
        x = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(low)), Vector512.Create(low), x);
        return Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(high)), Vector512.Create(high), x);
    }
}

/// <summary>tract's f32 tanh (<see cref="Activations.Tanh(float)"/>), the same operations in vectors.</summary>
internal readonly struct TanhOperator : IUnaryOperator<float>
{
    public static bool IsVectorizable => true;

    public static float Invoke(float x) => Activations.Tanh(x);

    public static Vector128<float> Invoke(Vector128<float> x)
    {
        x = SigmoidOperator.Clamp(x, -8.9f, 8.9f);
        Vector128<float> x2 = x * x;
        Vector128<float> p = (x2 * Vector128.Create(-8.488492677e-14f)) + Vector128.Create(5.277853000e-11f);
        p = (x2 * p) + Vector128.Create(-2.022500419e-8f);
        p = (x2 * p) + Vector128.Create(0.00001115424833f);
        p = (x2 * p) + Vector128.Create(0.003103950131f);
        p = (x2 * p) + Vector128.Create(0.1308400453f);
        p = (x2 * p) + Vector128.Create(0.9999999934f);
        p *= x;
        Vector128<float> q = (x2 * Vector128.Create(0.0002546136580f)) + Vector128.Create(0.02449515379f);
        q = (x2 * q) + Vector128.Create(0.4641733162f);
        q = (x2 * q) + Vector128<float>.One;
        return p / q;
    }

    public static Vector256<float> Invoke(Vector256<float> x)
    {
        x = SigmoidOperator.Clamp(x, -8.9f, 8.9f);
        Vector256<float> x2 = x * x;
        Vector256<float> p = (x2 * Vector256.Create(-8.488492677e-14f)) + Vector256.Create(5.277853000e-11f);
        p = (x2 * p) + Vector256.Create(-2.022500419e-8f);
        p = (x2 * p) + Vector256.Create(0.00001115424833f);
        p = (x2 * p) + Vector256.Create(0.003103950131f);
        p = (x2 * p) + Vector256.Create(0.1308400453f);
        p = (x2 * p) + Vector256.Create(0.9999999934f);
        p *= x;
        Vector256<float> q = (x2 * Vector256.Create(0.0002546136580f)) + Vector256.Create(0.02449515379f);
        q = (x2 * q) + Vector256.Create(0.4641733162f);
        q = (x2 * q) + Vector256<float>.One;
        return p / q;
    }

    public static Vector512<float> Invoke(Vector512<float> x)
    {
        x = SigmoidOperator.Clamp(x, -8.9f, 8.9f);
        Vector512<float> x2 = x * x;
        Vector512<float> p = (x2 * Vector512.Create(-8.488492677e-14f)) + Vector512.Create(5.277853000e-11f);
        p = (x2 * p) + Vector512.Create(-2.022500419e-8f);
        p = (x2 * p) + Vector512.Create(0.00001115424833f);
        p = (x2 * p) + Vector512.Create(0.003103950131f);
        p = (x2 * p) + Vector512.Create(0.1308400453f);
        p = (x2 * p) + Vector512.Create(0.9999999934f);
        p *= x;
        Vector512<float> q = (x2 * Vector512.Create(0.0002546136580f)) + Vector512.Create(0.02449515379f);
        q = (x2 * q) + Vector512.Create(0.4641733162f);
        q = (x2 * q) + Vector512<float>.One;
        return p / q;
    }
}

/// <summary>silu: <c>x · sigmoid(x)</c> in f32.</summary>
internal readonly struct SiluOperator : IUnaryOperator<float>
{
    public static bool IsVectorizable => true;

    public static float Invoke(float x) => x * Activations.Sigmoid(x);

    public static Vector128<float> Invoke(Vector128<float> x) => x * SigmoidOperator.Invoke(x);

    public static Vector256<float> Invoke(Vector256<float> x) => x * SigmoidOperator.Invoke(x);

    public static Vector512<float> Invoke(Vector512<float> x) => x * SigmoidOperator.Invoke(x);
}

/// <summary>A scalar-only f32 function (C library transcendental, or a rounding mode vectors lack).</summary>
internal readonly struct ScalarFunction<TFunction> : IUnaryOperator<float>
    where TFunction : struct, IScalarFunction
{
    public static bool IsVectorizable => false;

    public static float Invoke(float x) => TFunction.Invoke(x);

    public static Vector128<float> Invoke(Vector128<float> x) => throw ScalarOnly.NotVectorizable();

    public static Vector256<float> Invoke(Vector256<float> x) => throw ScalarOnly.NotVectorizable();

    public static Vector512<float> Invoke(Vector512<float> x) => throw ScalarOnly.NotVectorizable();
}

/// <summary>An f32 function with a scalar form only.</summary>
internal interface IScalarFunction
{
    /// <summary>The function.</summary>
    static abstract float Invoke(float x);
}
