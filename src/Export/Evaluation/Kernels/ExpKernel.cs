using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// f32 <c>exp</c> evaluated with the same operations at every width, so a value's result does not depend on the vector
/// width nor on its position in a tensor: <c>n = round(x·log2 e)</c>, <c>r = x − n·ln 2</c> (two-part constant,
/// fused multiply-adds), Cephes' degree-7 polynomial for <c>e^r</c> on <c>|r| ≤ ln 2 / 2</c>, then two exact power-of-two
/// scalings (so results in the subnormal range are rounded once). Within 1 ulp of the correctly rounded value (checked
/// against f64 <c>exp</c> in the tests); overflow gives +inf, underflow +0, NaN stays NaN.
/// </summary>
internal static class ExpKernel
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f;
    private const float Ln2Low = -2.12194440e-4f;
    private const float Low = -104f;
    private const float High = 89f;
    private const float P0 = 1.9875691500E-4f;
    private const float P1 = 1.3981999507E-3f;
    private const float P2 = 8.3334519073E-3f;
    private const float P3 = 4.1665795894E-2f;
    private const float P4 = 1.6666665459E-1f;
    private const float P5 = 5.0000001201E-1f;

    /// <summary>Scalar reference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x)
    {
        float c = x < Low ? Low : x;
        c = c > High ? High : c;
        float n = MathF.Round(c * Log2E, MidpointRounding.ToEven);
        float r = MathF.FusedMultiplyAdd(n, -Ln2High, c);
        r = MathF.FusedMultiplyAdd(n, -Ln2Low, r);
        float y = MathF.FusedMultiplyAdd(P0, r, P1);
        y = MathF.FusedMultiplyAdd(y, r, P2);
        y = MathF.FusedMultiplyAdd(y, r, P3);
        y = MathF.FusedMultiplyAdd(y, r, P4);
        y = MathF.FusedMultiplyAdd(y, r, P5);
        y = MathF.FusedMultiplyAdd(y, r * r, r) + 1f;
        int ni = (int)n;
        int n1 = ni >> 1;
        float result = y * BitConverter.Int32BitsToSingle((n1 + 127) << 23) * BitConverter.Int32BitsToSingle((ni - n1 + 127) << 23);
        return float.IsNaN(x) ? x : result;
    }

    /// <summary>16 lanes. With AVX-512 the final scaling is one <c>vscalefps</c>: it rounds <c>y · 2^n</c> once, as the
    /// two exact steps of the other widths do, so the bits are the same.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        // Native min/max may differ from the scalar clamp only for NaN lanes, which the last select replaces anyway.
        Vector512<float> c = Vector512.MinNative(Vector512.MaxNative(x, Vector512.Create(Low)), Vector512.Create(High));
        Vector512<float> n = Vector512.Round(c * Vector512.Create(Log2E));
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2High), c);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Low), r);
        Vector512<float> y = Vector512.FusedMultiplyAdd(Vector512.Create(P0), r, Vector512.Create(P1));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(P2));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(P3));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(P4));
        y = Vector512.FusedMultiplyAdd(y, r, Vector512.Create(P5));
        y = Vector512.FusedMultiplyAdd(y, r * r, r) + Vector512<float>.One;
        Vector512<float> result;
        if (Avx512F.IsSupported)
        {
            result = Avx512F.Scale(y, n);
        }
        else
        {
            Vector512<int> ni = Vector512.ConvertToInt32(n);
            Vector512<int> n1 = Vector512.ShiftRightArithmetic(ni, 1);
            Vector512<float> s1 = Vector512.ShiftLeft(n1 + Vector512.Create(127), 23).AsSingle();
            Vector512<float> s2 = Vector512.ShiftLeft(ni - n1 + Vector512.Create(127), 23).AsSingle();
            result = y * s1 * s2;
        }

        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }

    /// <summary>8 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        Vector256<float> c = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(Low)), Vector256.Create(Low), x);
        c = Vector256.ConditionalSelect(Vector256.GreaterThan(c, Vector256.Create(High)), Vector256.Create(High), c);
        Vector256<float> n = Vector256.Round(c * Vector256.Create(Log2E));
        Vector256<float> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2High), c);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Low), r);
        Vector256<float> y = Vector256.FusedMultiplyAdd(Vector256.Create(P0), r, Vector256.Create(P1));
        y = Vector256.FusedMultiplyAdd(y, r, Vector256.Create(P2));
        y = Vector256.FusedMultiplyAdd(y, r, Vector256.Create(P3));
        y = Vector256.FusedMultiplyAdd(y, r, Vector256.Create(P4));
        y = Vector256.FusedMultiplyAdd(y, r, Vector256.Create(P5));
        y = Vector256.FusedMultiplyAdd(y, r * r, r) + Vector256<float>.One;
        Vector256<int> ni = Vector256.ConvertToInt32(n);
        Vector256<int> n1 = Vector256.ShiftRightArithmetic(ni, 1);
        Vector256<float> s1 = Vector256.ShiftLeft(n1 + Vector256.Create(127), 23).AsSingle();
        Vector256<float> s2 = Vector256.ShiftLeft(ni - n1 + Vector256.Create(127), 23).AsSingle();
        Vector256<float> result = y * s1 * s2;
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    /// <summary>4 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        Vector128<float> c = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128.Create(Low)), Vector128.Create(Low), x);
        c = Vector128.ConditionalSelect(Vector128.GreaterThan(c, Vector128.Create(High)), Vector128.Create(High), c);
        Vector128<float> n = Vector128.Round(c * Vector128.Create(Log2E));
        Vector128<float> r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2High), c);
        r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2Low), r);
        Vector128<float> y = Vector128.FusedMultiplyAdd(Vector128.Create(P0), r, Vector128.Create(P1));
        y = Vector128.FusedMultiplyAdd(y, r, Vector128.Create(P2));
        y = Vector128.FusedMultiplyAdd(y, r, Vector128.Create(P3));
        y = Vector128.FusedMultiplyAdd(y, r, Vector128.Create(P4));
        y = Vector128.FusedMultiplyAdd(y, r, Vector128.Create(P5));
        y = Vector128.FusedMultiplyAdd(y, r * r, r) + Vector128<float>.One;
        Vector128<int> ni = Vector128.ConvertToInt32(n);
        Vector128<int> n1 = Vector128.ShiftRightArithmetic(ni, 1);
        Vector128<float> s1 = Vector128.ShiftLeft(n1 + Vector128.Create(127), 23).AsSingle();
        Vector128<float> s2 = Vector128.ShiftLeft(ni - n1 + Vector128.Create(127), 23).AsSingle();
        Vector128<float> result = y * s1 * s2;
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), result, x);
    }
}
