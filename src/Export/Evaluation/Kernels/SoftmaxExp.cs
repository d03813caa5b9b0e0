using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// f32 <c>exp(d)</c> for softmax, whose argument <c>d = x − max</c> is never positive (or is NaN), with the same
/// operations at every width: <c>n = round(d·log2 e)</c> by adding and subtracting 1.5·2^23 (one fused multiply-add
/// rounds the exact product), <c>r = d − n·ln 2</c> (two-part constant), a degree-6 polynomial for <c>e^r</c> on
/// <c>|r| ≤ ln 2 / 2</c> evaluated by Horner's rule down to <c>q·r + 1</c>, then <c>2^n</c> applied with one rounding (so
/// subnormal results are rounded once). Within 1 ulp of the correctly rounded value on [−104, 0] (checked against f64
/// <c>exp</c> in the tests), like <see cref="ExpKernel"/>, but cheaper where softmax spends its time: no upper clamp
/// (there is nothing above 0 to clamp), NaN carried through the arithmetic instead of a final select, and one
/// multiply-add fewer in the range reduction and in the polynomial. Below −104 the result is +0.
/// </summary>
internal static class SoftmaxExp
{
    internal const float Log2E = 1.44269504088896341f;
    internal const float RoundingShift = 12582912f; // 1.5 · 2^23: adding it leaves round(v) in the low bits, for |v| < 2^22
    internal const float Ln2High = 0.693359375f;
    internal const float Ln2Low = -2.12194440e-4f;
    internal const float Low = -104f;

    // e^r ≈ 1 + r·(1 + r·(C2 + r·(C3 + r·(C4 + r·(C5 + r·C6))))): interpolation of (e^r − 1) / r at the Chebyshev nodes of
    // [−ln 2 / 2, ln 2 / 2], rounded to f32 (relative error of the f32 evaluation 6.3e-8).
    internal const float C2 = 0.5f;
    internal const float C3 = 0.16666505f;
    internal const float C4 = 0.041666467f;
    internal const float C5 = 0.008369149f;
    internal const float C6 = 0.0013933642f;

    /// <summary>Scalar reference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float d)
    {
        // A NaN fails the comparison and stays NaN through every step below (the integer of a NaN n is some integer,
        // which a NaN q ignores).
        float c = d < Low ? Low : d;
        float n = MathF.FusedMultiplyAdd(c, Log2E, RoundingShift) - RoundingShift;
        float r = MathF.FusedMultiplyAdd(n, -Ln2High, c);
        r = MathF.FusedMultiplyAdd(n, -Ln2Low, r);
        float q = MathF.FusedMultiplyAdd(C6, r, C5);
        q = MathF.FusedMultiplyAdd(q, r, C4);
        q = MathF.FusedMultiplyAdd(q, r, C3);
        q = MathF.FusedMultiplyAdd(q, r, C2);
        q = MathF.FusedMultiplyAdd(q, r, 1f);
        q = MathF.FusedMultiplyAdd(q, r, 1f);

        // n is in [−150, 0]: 2^(n/2) and 2^(n − n/2) are normal, the first product is exact, the second rounds once.
        int ni = (int)n;
        int n1 = ni >> 1;
        return q * BitConverter.Int32BitsToSingle((n1 + 127) << 23) * BitConverter.Int32BitsToSingle((ni - n1 + 127) << 23);
    }

    /// <summary>16 lanes (see <see cref="Exp(Vector512{float}, in SoftmaxExpConstants512)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> d) => Exp(d, SoftmaxExpConstants512.Create());

    /// <summary>16 lanes, with the constants in <paramref name="k"/>. With AVX-512 the clamp is one <c>vmaxps</c> with the bound first (the instruction returns its
    /// second operand when either is NaN, so NaN lanes stay NaN) and the scaling one <c>vscalefps</c>, which rounds
    /// <c>q · 2^n</c> once as the two exact steps of the reference do.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> d, in SoftmaxExpConstants512 k)
    {
        Vector512<float> c = Avx512F.IsSupported
            ? Avx512F.Max(k.Low, d)
            : Vector512.ConditionalSelect(Vector512.LessThan(d, k.Low), k.Low, d);
        Vector512<float> n = Vector512.FusedMultiplyAdd(c, k.Log2E, k.RoundingShift) - k.RoundingShift;
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, k.MinusLn2High, c);
        r = Vector512.FusedMultiplyAdd(n, k.MinusLn2Low, r);
        Vector512<float> q = Vector512.FusedMultiplyAdd(k.C6, r, k.C5);
        q = Vector512.FusedMultiplyAdd(q, r, k.C4);
        q = Vector512.FusedMultiplyAdd(q, r, k.C3);
        q = Vector512.FusedMultiplyAdd(q, r, k.C2);
        q = Vector512.FusedMultiplyAdd(q, r, k.One);
        q = Vector512.FusedMultiplyAdd(q, r, k.One);
        if (Avx512F.IsSupported)
        {
            return Avx512F.Scale(q, n);
        }

        Vector512<int> ni = Vector512.ConvertToInt32(n);
        Vector512<int> n1 = Vector512.ShiftRightArithmetic(ni, 1);
        Vector512<float> s1 = Vector512.ShiftLeft(n1 + Vector512.Create(127), 23).AsSingle();
        Vector512<float> s2 = Vector512.ShiftLeft(ni - n1 + Vector512.Create(127), 23).AsSingle();
        return q * s1 * s2;
    }

    /// <summary>8 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> d)
    {
        Vector256<float> c = Vector256.ConditionalSelect(Vector256.LessThan(d, Vector256.Create(Low)), Vector256.Create(Low), d);
        Vector256<float> n = Vector256.FusedMultiplyAdd(c, Vector256.Create(Log2E), Vector256.Create(RoundingShift)) - Vector256.Create(RoundingShift);
        Vector256<float> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2High), c);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-Ln2Low), r);
        Vector256<float> q = Vector256.FusedMultiplyAdd(Vector256.Create(C6), r, Vector256.Create(C5));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(C4));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(C3));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256.Create(C2));
        q = Vector256.FusedMultiplyAdd(q, r, Vector256<float>.One);
        q = Vector256.FusedMultiplyAdd(q, r, Vector256<float>.One);
        Vector256<int> ni = Vector256.ConvertToInt32(n);
        Vector256<int> n1 = Vector256.ShiftRightArithmetic(ni, 1);
        Vector256<float> s1 = Vector256.ShiftLeft(n1 + Vector256.Create(127), 23).AsSingle();
        Vector256<float> s2 = Vector256.ShiftLeft(ni - n1 + Vector256.Create(127), 23).AsSingle();
        return q * s1 * s2;
    }

    /// <summary>4 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> d)
    {
        Vector128<float> c = Vector128.ConditionalSelect(Vector128.LessThan(d, Vector128.Create(Low)), Vector128.Create(Low), d);
        Vector128<float> n = Vector128.FusedMultiplyAdd(c, Vector128.Create(Log2E), Vector128.Create(RoundingShift)) - Vector128.Create(RoundingShift);
        Vector128<float> r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2High), c);
        r = Vector128.FusedMultiplyAdd(n, Vector128.Create(-Ln2Low), r);
        Vector128<float> q = Vector128.FusedMultiplyAdd(Vector128.Create(C6), r, Vector128.Create(C5));
        q = Vector128.FusedMultiplyAdd(q, r, Vector128.Create(C4));
        q = Vector128.FusedMultiplyAdd(q, r, Vector128.Create(C3));
        q = Vector128.FusedMultiplyAdd(q, r, Vector128.Create(C2));
        q = Vector128.FusedMultiplyAdd(q, r, Vector128<float>.One);
        q = Vector128.FusedMultiplyAdd(q, r, Vector128<float>.One);
        Vector128<int> ni = Vector128.ConvertToInt32(n);
        Vector128<int> n1 = Vector128.ShiftRightArithmetic(ni, 1);
        Vector128<float> s1 = Vector128.ShiftLeft(n1 + Vector128.Create(127), 23).AsSingle();
        Vector128<float> s2 = Vector128.ShiftLeft(ni - n1 + Vector128.Create(127), 23).AsSingle();
        return q * s1 * s2;
    }
}

/// <summary>
/// <see cref="SoftmaxExp"/>'s constants as 512-bit vectors, made once before a loop and passed in: the JIT keeps them in
/// registers then, where a <c>Vector512.Create</c> of a constant inside the loop is reloaded from memory at each use.
/// </summary>
internal readonly struct SoftmaxExpConstants512
{
    public readonly Vector512<float> Low;
    public readonly Vector512<float> Log2E;
    public readonly Vector512<float> RoundingShift;
    public readonly Vector512<float> MinusLn2High;
    public readonly Vector512<float> MinusLn2Low;
    public readonly Vector512<float> C2;
    public readonly Vector512<float> C3;
    public readonly Vector512<float> C4;
    public readonly Vector512<float> C5;
    public readonly Vector512<float> C6;
    public readonly Vector512<float> One;

    /// <summary>The constants.</summary>
    public SoftmaxExpConstants512()
    {
        Low = Vector512.Create(SoftmaxExp.Low);
        Log2E = Vector512.Create(SoftmaxExp.Log2E);
        RoundingShift = Vector512.Create(SoftmaxExp.RoundingShift);
        MinusLn2High = Vector512.Create(-SoftmaxExp.Ln2High);
        MinusLn2Low = Vector512.Create(-SoftmaxExp.Ln2Low);
        C2 = Vector512.Create(SoftmaxExp.C2);
        C3 = Vector512.Create(SoftmaxExp.C3);
        C4 = Vector512.Create(SoftmaxExp.C4);
        C5 = Vector512.Create(SoftmaxExp.C5);
        C6 = Vector512.Create(SoftmaxExp.C6);
        One = Vector512<float>.One;
    }

    /// <summary>The constants (<c>default</c> would be zeros).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static SoftmaxExpConstants512 Create() => new();
}

/// <summary><see cref="SoftmaxExp"/> as an element-wise operator (softmax along columns).</summary>
internal readonly struct SoftmaxExpOperator : IUnaryOperator<float>
{
    public static bool IsVectorizable => true;

    public static float Invoke(float x) => SoftmaxExp.Exp(x);

    public static Vector128<float> Invoke(Vector128<float> x) => SoftmaxExp.Exp(x);

    public static Vector256<float> Invoke(Vector256<float> x) => SoftmaxExp.Exp(x);

    public static Vector512<float> Invoke(Vector512<float> x) => SoftmaxExp.Exp(x);
}
