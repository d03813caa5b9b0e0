using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// Reductions of a value seen as <c>[outer, reduced, inner]</c> (the reduced axes merged into one group) to
/// <c>[outer, inner]</c>, without index maps: f32 sums of rows (<c>inner = 1</c>) in the <see cref="LaneSum"/> order,
/// otherwise in order along the reduced axis with the inner axis across vector lanes; products, maxima and minima in
/// order along the reduced axis (a later value replaces the kept one only when strictly greater, resp. smaller, so the
/// first of equal values wins and a NaN is kept only when it comes first); integer sums and products exactly in 64-bit
/// integers (wrapping, as Rust's release arithmetic).
/// </summary>
internal static class ReduceKernels
{
    /// <summary>f32 sums.</summary>
    public static void Sum(KernelWidth width, ReadOnlySpan<float> x, int outer, int reduced, int inner, Span<float> destination)
    {
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                destination[o] = LaneSum.Sum(width, x.Slice(o * reduced, reduced));
            }

            return;
        }

        Fold<AddOperator<float>, float>(width, x, outer, reduced, inner, destination, 0f);
    }

    /// <summary>Products in order along the reduced axis, from 1.</summary>
    public static void Product<T>(KernelWidth width, ReadOnlySpan<T> x, int outer, int reduced, int inner, Span<T> destination)
        where T : struct, INumberBase<T> =>
        Fold<MultiplyOperator<T>, T>(width, x, outer, reduced, inner, destination, T.One);

    /// <summary>Integer sums in order along the reduced axis, from 0 (wrapping).</summary>
    public static void IntegerSum<T>(KernelWidth width, ReadOnlySpan<T> x, int outer, int reduced, int inner, Span<T> destination)
        where T : struct, IBinaryInteger<T> =>
        Fold<AddOperator<T>, T>(width, x, outer, reduced, inner, destination, T.Zero);

    /// <summary>Maxima (<paramref name="max"/>) or minima: the first value, replaced by any later strictly greater (smaller) one.</summary>
    public static void Extreme<T>(KernelWidth width, ReadOnlySpan<T> x, int outer, int reduced, int inner, Span<T> destination, bool max)
        where T : struct, INumber<T>
    {
        for (int o = 0; o < outer; o++)
        {
            Span<T> acc = destination.Slice(o * inner, inner);
            x.Slice(o * reduced * inner, inner).CopyTo(acc);
            for (int r = 1; r < reduced; r++)
            {
                ref T row = ref MemoryMarshal.GetReference(x.Slice(((o * reduced) + r) * inner, inner));
                ref T a = ref MemoryMarshal.GetReference(acc);
                if (max)
                {
                    ElementWiseLoops.Run<KeepGreater<T>, T>(width, ref a, 1, ref row, 1, ref a, inner);
                }
                else
                {
                    ElementWiseLoops.Run<KeepSmaller<T>, T>(width, ref a, 1, ref row, 1, ref a, inner);
                }
            }
        }
    }

    /// <summary>
    /// Positions along the reduced axis of the maxima (<paramref name="max"/>) or minima: the first one, or the last of
    /// equal ones when <paramref name="last"/>; a NaN is chosen only when it comes first.
    /// </summary>
    public static void ArgExtreme<T>(ReadOnlySpan<T> x, int outer, int reduced, int inner, Span<long> destination, bool max, bool last)
        where T : struct, INumber<T>
    {
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int start = (o * reduced * inner) + i;
                T best = x[start];
                long position = 0;
                for (int r = 1; r < reduced; r++)
                {
                    T v = x[start + (r * inner)];
                    if ((max ? v > best : v < best) || (last && v == best))
                    {
                        best = v;
                        position = r;
                    }
                }

                destination[(o * inner) + i] = position;
            }
        }
    }

    // acc[o, i] = op(... op(op(seed, x[o, 0, i]), x[o, 1, i]) ..., x[o, reduced - 1, i]), vectorized across i.
    private static void Fold<TOp, T>(KernelWidth width, ReadOnlySpan<T> x, int outer, int reduced, int inner, Span<T> destination, T seed)
        where TOp : struct, IBinaryOperator<T>
        where T : struct
    {
        for (int o = 0; o < outer; o++)
        {
            Span<T> acc = destination.Slice(o * inner, inner);
            acc.Fill(seed);
            ref T a = ref MemoryMarshal.GetReference(acc);
            for (int r = 0; r < reduced; r++)
            {
                ref T row = ref MemoryMarshal.GetReference(x.Slice(((o * reduced) + r) * inner, inner));
                ElementWiseLoops.Run<TOp, T>(width, ref a, 1, ref row, 1, ref a, inner);
            }
        }
    }

    /// <summary><c>y &gt; x ? y : x</c>: keeps the first of equals, ignores a later NaN.</summary>
    private readonly struct KeepGreater<T> : IBinaryOperator<T>
        where T : struct, INumber<T>
    {
        public static bool IsVectorizable => Vector128<T>.IsSupported;

        public static T Invoke(T x, T y) => y > x ? y : x;

        public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) =>
            Vector128.ConditionalSelect(Vector128.GreaterThan(y, x), y, x);

        public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) =>
            Vector256.ConditionalSelect(Vector256.GreaterThan(y, x), y, x);

        public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) =>
            Vector512.ConditionalSelect(Vector512.GreaterThan(y, x), y, x);
    }

    /// <summary><c>y &lt; x ? y : x</c>.</summary>
    private readonly struct KeepSmaller<T> : IBinaryOperator<T>
        where T : struct, INumber<T>
    {
        public static bool IsVectorizable => Vector128<T>.IsSupported;

        public static T Invoke(T x, T y) => y < x ? y : x;

        public static Vector128<T> Invoke(Vector128<T> x, Vector128<T> y) =>
            Vector128.ConditionalSelect(Vector128.LessThan(y, x), y, x);

        public static Vector256<T> Invoke(Vector256<T> x, Vector256<T> y) =>
            Vector256.ConditionalSelect(Vector256.LessThan(y, x), y, x);

        public static Vector512<T> Invoke(Vector512<T> x, Vector512<T> y) =>
            Vector512.ConditionalSelect(Vector512.LessThan(y, x), y, x);
    }
}
