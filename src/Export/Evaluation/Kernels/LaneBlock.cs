using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// The 16 lanes of the <see cref="LaneSum"/> order held in the registers of one width: one 512-bit vector, two 256-bit
/// or four 128-bit ones. A kernel written once over <typeparamref name="TSelf"/> runs at every width with the same
/// operations on the same lanes, so its bits do not depend on the width (the JIT compiles one copy per block type).
/// </summary>
/// <typeparam name="TSelf">The block type.</typeparam>
internal interface ILaneBlock<TSelf>
    where TSelf : struct, ILaneBlock<TSelf>
{
    /// <summary>Every lane <paramref name="value"/>.</summary>
    static abstract TSelf Splat(float value);

    /// <summary>16 values from <paramref name="source"/> + <paramref name="offset"/> (the caller proves they exist).</summary>
    static abstract TSelf Load(ref float source, nuint offset);

    /// <summary>Stores the 16 lanes at <paramref name="destination"/> + <paramref name="offset"/>.</summary>
    static abstract void Store(TSelf value, ref float destination, nuint offset);

    /// <summary>Lane-wise <c>a + b</c>.</summary>
    static abstract TSelf Add(TSelf a, TSelf b);

    /// <summary>Lane-wise <c>a − b</c>.</summary>
    static abstract TSelf Subtract(TSelf a, TSelf b);

    /// <summary>Lane-wise <c>a · b</c>.</summary>
    static abstract TSelf Multiply(TSelf a, TSelf b);

    /// <summary>
    /// Lane-wise maximum with the hardware's instruction (one <c>maxps</c>; <see cref="Vector512.Max{T}"/> costs three
    /// dependent ones on a loop-carried chain): equal to <see cref="Math.Max(float, float)"/> except that a NaN may be
    /// dropped and <c>max(−0, +0)</c> may be either zero. Callers must not see those differences.
    /// </summary>
    static abstract TSelf MaxNative(TSelf a, TSelf b);

    /// <summary>The largest lane (<see cref="MaxNative"/>'s caveats apply).</summary>
    static abstract float MaxAcross(TSelf value);

    /// <summary>The lanes folded as <see cref="LaneSum.Fold"/>: <c>l += l + 8</c>, <c>l += l + 4</c>, <c>l += l + 2</c>, <c>0 += 1</c>.</summary>
    static abstract float SumAcross(TSelf value);

    /// <summary>Lane-wise <see cref="SoftmaxExp"/> exp (of values never above 0, or NaN).</summary>
    static abstract TSelf SoftmaxExp(TSelf a);
}

/// <summary>16 lanes in one 512-bit vector.</summary>
internal readonly struct LaneBlock512 : ILaneBlock<LaneBlock512>
{
    private readonly Vector512<float> _a;

    /// <summary>The block held in <paramref name="a"/>.</summary>
    internal LaneBlock512(Vector512<float> a) => _a = a;

    public static LaneBlock512 Splat(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock512 Load(ref float source, nuint offset) => new(Vector512.LoadUnsafe(ref source, offset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(LaneBlock512 value, ref float destination, nuint offset) => value._a.StoreUnsafe(ref destination, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock512 Add(LaneBlock512 a, LaneBlock512 b) => new(a._a + b._a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock512 Subtract(LaneBlock512 a, LaneBlock512 b) => new(a._a - b._a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock512 Multiply(LaneBlock512 a, LaneBlock512 b) => new(a._a * b._a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock512 MaxNative(LaneBlock512 a, LaneBlock512 b) => new(Vector512.MaxNative(a._a, b._a));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(LaneBlock512 value) => LaneFold.Max(Vector256.MaxNative(value._a.GetLower(), value._a.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SumAcross(LaneBlock512 value) => LaneFold.Sum(value._a.GetLower() + value._a.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock512 SoftmaxExp(LaneBlock512 a) => new(Kernels.SoftmaxExp.Exp(a._a));
}

/// <summary>16 lanes in two 256-bit vectors (lanes 0–7, 8–15).</summary>
internal readonly struct LaneBlock256 : ILaneBlock<LaneBlock256>
{
    private readonly Vector256<float> _a;
    private readonly Vector256<float> _b;

    private LaneBlock256(Vector256<float> a, Vector256<float> b)
    {
        _a = a;
        _b = b;
    }

    public static LaneBlock256 Splat(float value) => new(Vector256.Create(value), Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock256 Load(ref float source, nuint offset) =>
        new(Vector256.LoadUnsafe(ref source, offset), Vector256.LoadUnsafe(ref source, offset + 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(LaneBlock256 value, ref float destination, nuint offset)
    {
        value._a.StoreUnsafe(ref destination, offset);
        value._b.StoreUnsafe(ref destination, offset + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock256 Add(LaneBlock256 a, LaneBlock256 b) => new(a._a + b._a, a._b + b._b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock256 Subtract(LaneBlock256 a, LaneBlock256 b) => new(a._a - b._a, a._b - b._b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock256 Multiply(LaneBlock256 a, LaneBlock256 b) => new(a._a * b._a, a._b * b._b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock256 MaxNative(LaneBlock256 a, LaneBlock256 b) => new(Vector256.MaxNative(a._a, b._a), Vector256.MaxNative(a._b, b._b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(LaneBlock256 value) => LaneFold.Max(Vector256.MaxNative(value._a, value._b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SumAcross(LaneBlock256 value) => LaneFold.Sum(value._a + value._b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock256 SoftmaxExp(LaneBlock256 a) => new(Kernels.SoftmaxExp.Exp(a._a), Kernels.SoftmaxExp.Exp(a._b));
}

/// <summary>16 lanes in four 128-bit vectors (lanes 0–3, 4–7, 8–11, 12–15).</summary>
internal readonly struct LaneBlock128 : ILaneBlock<LaneBlock128>
{
    private readonly Vector128<float> _a;
    private readonly Vector128<float> _b;
    private readonly Vector128<float> _c;
    private readonly Vector128<float> _d;

    private LaneBlock128(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d)
    {
        _a = a;
        _b = b;
        _c = c;
        _d = d;
    }

    public static LaneBlock128 Splat(float value)
    {
        Vector128<float> v = Vector128.Create(value);
        return new(v, v, v, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock128 Load(ref float source, nuint offset) => new(
        Vector128.LoadUnsafe(ref source, offset),
        Vector128.LoadUnsafe(ref source, offset + 4),
        Vector128.LoadUnsafe(ref source, offset + 8),
        Vector128.LoadUnsafe(ref source, offset + 12));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(LaneBlock128 value, ref float destination, nuint offset)
    {
        value._a.StoreUnsafe(ref destination, offset);
        value._b.StoreUnsafe(ref destination, offset + 4);
        value._c.StoreUnsafe(ref destination, offset + 8);
        value._d.StoreUnsafe(ref destination, offset + 12);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock128 Add(LaneBlock128 a, LaneBlock128 b) => new(a._a + b._a, a._b + b._b, a._c + b._c, a._d + b._d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock128 Subtract(LaneBlock128 a, LaneBlock128 b) => new(a._a - b._a, a._b - b._b, a._c - b._c, a._d - b._d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock128 Multiply(LaneBlock128 a, LaneBlock128 b) => new(a._a * b._a, a._b * b._b, a._c * b._c, a._d * b._d);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock128 MaxNative(LaneBlock128 a, LaneBlock128 b) =>
        new(Vector128.MaxNative(a._a, b._a), Vector128.MaxNative(a._b, b._b), Vector128.MaxNative(a._c, b._c), Vector128.MaxNative(a._d, b._d));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(LaneBlock128 value) =>
        LaneFold.Max(Vector128.MaxNative(Vector128.MaxNative(value._a, value._c), Vector128.MaxNative(value._b, value._d)));

    // Lanes 0-7 += lanes 8-15 is a + c (lanes 0-3) and b + d (lanes 4-7); then 0-3 += 4-7.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SumAcross(LaneBlock128 value) => LaneFold.Sum((value._a + value._c) + (value._b + value._d));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static LaneBlock128 SoftmaxExp(LaneBlock128 a) =>
        new(Kernels.SoftmaxExp.Exp(a._a), Kernels.SoftmaxExp.Exp(a._b), Kernels.SoftmaxExp.Exp(a._c), Kernels.SoftmaxExp.Exp(a._d));
}

/// <summary>The last steps of the lane folds, shared by the blocks.</summary>
internal static class LaneFold
{
    /// <summary>Lanes 0–7 of the sum order: <c>l += l + 4</c>, then <c>(0 + 2) + (1 + 3)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> h8) => Sum(h8.GetLower() + h8.GetUpper());

    /// <summary>Lanes 0–3 of the sum order: <c>(0 + 2) + (1 + 3)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector128<float> h4) => (h4.GetElement(0) + h4.GetElement(2)) + (h4.GetElement(1) + h4.GetElement(3));

    /// <summary>The largest of 8 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(Vector256<float> v) => Max(Vector128.MaxNative(v.GetLower(), v.GetUpper()));

    /// <summary>The largest of 4 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(Vector128<float> v)
    {
        Vector128<float> m = Vector128.MaxNative(v, Vector128.Shuffle(v, Vector128.Create(2, 3, 0, 1)));
        return MathF.Max(m.GetElement(0), m.GetElement(1));
    }
}
