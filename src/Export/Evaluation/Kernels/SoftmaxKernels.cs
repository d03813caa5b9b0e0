using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// f32 softmax over one axis group, tract's order of operations: <c>m = max</c> (NaN-propagating, as
/// <see cref="Math.Max(float, float)"/>), <c>e = exp(x − m)</c> (<see cref="ExpKernel"/>), <c>s = Σ e</c>, <c>y = e · (1 / s)</c>.
/// Rows (the reduced axes innermost) sum in the <see cref="LaneSum"/> order; columns (an inner axis kept) are summed in
/// order along the reduced axis, each lane an independent output. Results do not depend on the width.
/// </summary>
internal static class SoftmaxKernels
{
    /// <summary><paramref name="rows"/> contiguous rows of <paramref name="length"/> values.</summary>
    public static void Rows(KernelWidth width, float[] x, float[] y, int rows, int length, int threads)
    {
        void Range(int r0, int r1)
        {
            for (int r = r0; r < r1; r++)
            {
                Row(width, x.AsSpan(r * length, length), y.AsSpan(r * length, length));
            }
        }

        Parallelize(rows, (long)rows * length, threads, Range);
    }

    /// <summary>One row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row(KernelWidth width, ReadOnlySpan<float> source, Span<float> destination)
    {
        if (width == KernelWidth.Vector512)
        {
            Row512(source, destination);
            return;
        }

        ref float x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        int n = source.Length;
        float max = Max(width, source);
        Span<float> lanes = stackalloc float[LaneSum.Lanes];
        lanes.Clear();
        int i = 0;
        switch (width)
        {
            case KernelWidth.Vector256:
            {
                Vector256<float> m = Vector256.Create(max), a = Vector256<float>.Zero, b = a;
                for (; i <= n - 16; i += 16)
                {
                    Vector256<float> e0 = ExpKernel.Exp(Vector256.LoadUnsafe(ref x, (nuint)i) - m);
                    Vector256<float> e1 = ExpKernel.Exp(Vector256.LoadUnsafe(ref x, (nuint)(i + 8)) - m);
                    e0.StoreUnsafe(ref y, (nuint)i);
                    e1.StoreUnsafe(ref y, (nuint)(i + 8));
                    a += e0;
                    b += e1;
                }

                a.CopyTo(lanes);
                b.CopyTo(lanes[8..]);
                break;
            }

            case KernelWidth.Vector128:
            {
                Vector128<float> m = Vector128.Create(max), a = Vector128<float>.Zero, b = a, c = a, d = a;
                for (; i <= n - 16; i += 16)
                {
                    Vector128<float> e0 = ExpKernel.Exp(Vector128.LoadUnsafe(ref x, (nuint)i) - m);
                    Vector128<float> e1 = ExpKernel.Exp(Vector128.LoadUnsafe(ref x, (nuint)(i + 4)) - m);
                    Vector128<float> e2 = ExpKernel.Exp(Vector128.LoadUnsafe(ref x, (nuint)(i + 8)) - m);
                    Vector128<float> e3 = ExpKernel.Exp(Vector128.LoadUnsafe(ref x, (nuint)(i + 12)) - m);
                    e0.StoreUnsafe(ref y, (nuint)i);
                    e1.StoreUnsafe(ref y, (nuint)(i + 4));
                    e2.StoreUnsafe(ref y, (nuint)(i + 8));
                    e3.StoreUnsafe(ref y, (nuint)(i + 12));
                    a += e0;
                    b += e1;
                    c += e2;
                    d += e3;
                }

                a.CopyTo(lanes);
                b.CopyTo(lanes[4..]);
                c.CopyTo(lanes[8..]);
                d.CopyTo(lanes[12..]);
                break;
            }
        }

        for (; i < n; i++)
        {
            float e = ExpKernel.Exp(Unsafe.Add(ref x, i) - max);
            Unsafe.Add(ref y, i) = e;
            lanes[i % LaneSum.Lanes] += e;
        }

        float scale = 1f / LaneSum.Fold(lanes);
        ElementWiseLoops.Run<ScaleOperator, float>(width, ref y, 1, ref scale, 0, ref y, n);
    }

    // The 512-bit row: the maximum with native max (it differs from Math.Max only for NaN, which makes every output NaN
    // either way, and in the sign of a zero maximum, which x - max does not see), then exp and the sum in the lane
    // order (one vector is the 16 lanes; the tail goes to its lanes through a zero-padded vector; adding +0 to a lane
    // changes nothing since lanes start at +0 and never hold -0), the fold as LaneSum.Fold, then the scaling.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Row512(ReadOnlySpan<float> source, Span<float> destination)
    {
        ref float x = ref MemoryMarshal.GetReference(source);
        ref float y = ref MemoryMarshal.GetReference(destination);
        int n = source.Length;
        int i = 0;
        Vector512<float> m0 = Vector512.Create(float.NegativeInfinity), m1 = m0, m2 = m0, m3 = m0;
        for (; i <= n - 64; i += 64)
        {
            m0 = Vector512.MaxNative(m0, Vector512.LoadUnsafe(ref x, (nuint)i));
            m1 = Vector512.MaxNative(m1, Vector512.LoadUnsafe(ref x, (nuint)(i + 16)));
            m2 = Vector512.MaxNative(m2, Vector512.LoadUnsafe(ref x, (nuint)(i + 32)));
            m3 = Vector512.MaxNative(m3, Vector512.LoadUnsafe(ref x, (nuint)(i + 48)));
        }

        for (; i <= n - 16; i += 16)
        {
            m0 = Vector512.MaxNative(m0, Vector512.LoadUnsafe(ref x, (nuint)i));
        }

        Vector512<float> mv = Vector512.MaxNative(Vector512.MaxNative(m0, m1), Vector512.MaxNative(m2, m3));
        float max = float.NegativeInfinity;
        for (int l = 0; l < 16; l++)
        {
            max = MathF.Max(max, mv[l]);
        }

        for (; i < n; i++)
        {
            max = MathF.Max(max, Unsafe.Add(ref x, i));
        }

        Vector512<float> m = Vector512.Create(max), a = Vector512<float>.Zero;
        i = 0;
        for (; i <= n - 16; i += 16)
        {
            Vector512<float> e = ExpKernel.Exp(Vector512.LoadUnsafe(ref x, (nuint)i) - m);
            e.StoreUnsafe(ref y, (nuint)i);
            a += e;
        }

        if (i < n)
        {
            Span<float> tail = stackalloc float[16];
            tail.Clear();
            for (int t = 0; i + t < n; t++)
            {
                float e = ExpKernel.Exp(Unsafe.Add(ref x, i + t) - max);
                Unsafe.Add(ref y, i + t) = e;
                tail[t] = e;
            }

            a += Vector512.Create<float>(tail);
        }

        Vector256<float> h8 = a.GetLower() + a.GetUpper();
        Vector128<float> h4 = h8.GetLower() + h8.GetUpper();
        float sum = (h4[0] + h4[2]) + (h4[1] + h4[3]);
        Vector512<float> scale = Vector512.Create(1f / sum);
        i = 0;
        for (; i <= n - 16; i += 16)
        {
            (Vector512.LoadUnsafe(ref y, (nuint)i) * scale).StoreUnsafe(ref y, (nuint)i);
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref y, i) *= scale[0];
        }
    }

    /// <summary>
    /// <paramref name="outer"/> blocks of <c>[reduced, inner]</c> values, softmax along <c>reduced</c> for each of the
    /// <paramref name="inner"/> columns.
    /// </summary>
    public static void Columns(KernelWidth width, float[] x, float[] y, int outer, int reduced, int inner, int threads)
    {
        void Range(int o0, int o1)
        {
            Span<float> sums = new float[inner];
            Span<float> maxima = new float[inner];
            for (int o = o0; o < o1; o++)
            {
                int block = o * reduced * inner;
                x.AsSpan(block, inner).CopyTo(maxima);
                for (int r = 1; r < reduced; r++)
                {
                    Combine<MaxOperator>(width, x.AsSpan(block + (r * inner), inner), maxima);
                }

                sums.Clear();
                for (int r = 0; r < reduced; r++)
                {
                    Span<float> e = y.AsSpan(block + (r * inner), inner);
                    ElementWiseLoops.Run<SubtractOperator<float>, float>(width, ref x[block + (r * inner)], 1, ref maxima[0], 1, ref e[0], inner);
                    ElementWiseLoops.Run<ExpOperator, float>(width, e, e);
                    Combine<AddOperator<float>>(width, e, sums);
                }

                for (int i = 0; i < inner; i++)
                {
                    sums[i] = 1f / sums[i];
                }

                for (int r = 0; r < reduced; r++)
                {
                    Span<float> e = y.AsSpan(block + (r * inner), inner);
                    ElementWiseLoops.Run<MultiplyOperator<float>, float>(width, ref e[0], 1, ref sums[0], 1, ref e[0], inner);
                }
            }
        }

        Parallelize(outer, (long)outer * reduced * inner, threads, Range);
    }

    /// <summary>NaN-propagating maximum of a row (<see cref="Math.Max(float, float)"/>; order does not change the value).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Max(KernelWidth width, ReadOnlySpan<float> values)
    {
        ref float x = ref MemoryMarshal.GetReference(values);
        int n = values.Length;
        float max = float.NegativeInfinity;
        int i = 0;
        if (width == KernelWidth.Vector512 && n >= 16)
        {
            Vector512<float> m = Vector512.Create(float.NegativeInfinity);
            for (; i <= n - 16; i += 16)
            {
                m = MaxOperator.Invoke(m, Vector512.LoadUnsafe(ref x, (nuint)i));
            }

            for (int l = 0; l < 16; l++)
            {
                max = Math.Max(max, m[l]);
            }
        }
        else if (width >= KernelWidth.Vector256 && n >= 8)
        {
            Vector256<float> m = Vector256.Create(float.NegativeInfinity);
            for (; i <= n - 8; i += 8)
            {
                m = MaxOperator.Invoke(m, Vector256.LoadUnsafe(ref x, (nuint)i));
            }

            for (int l = 0; l < 8; l++)
            {
                max = Math.Max(max, m[l]);
            }
        }
        else if (width >= KernelWidth.Vector128 && n >= 4)
        {
            Vector128<float> m = Vector128.Create(float.NegativeInfinity);
            for (; i <= n - 4; i += 4)
            {
                m = MaxOperator.Invoke(m, Vector128.LoadUnsafe(ref x, (nuint)i));
            }

            for (int l = 0; l < 4; l++)
            {
                max = Math.Max(max, m[l]);
            }
        }

        for (; i < n; i++)
        {
            max = Math.Max(max, Unsafe.Add(ref x, i));
        }

        return max;
    }

    private static void Combine<TOp>(KernelWidth width, ReadOnlySpan<float> values, Span<float> accumulator)
        where TOp : struct, IBinaryOperator<float> =>
        ElementWiseLoops.Run<TOp, float>(width, ref MemoryMarshal.GetReference(accumulator), 1, ref MemoryMarshal.GetReference(values), 1, ref MemoryMarshal.GetReference(accumulator), values.Length);

    private static void Parallelize(int items, long work, int threads, Action<int, int> range)
    {
        if (threads <= 1 || items < 2 || work < ElementWiseLoops.ParallelThreshold)
        {
            range(0, items);
            return;
        }

        int parts = Math.Min(threads, items);
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
            range((int)((long)items * part / parts), (int)((long)items * (part + 1) / parts)));
    }

    /// <summary><c>x · y</c> for the final scaling (same as <see cref="MultiplyOperator{T}"/>).</summary>
    private readonly struct ScaleOperator : IBinaryOperator<float>
    {
        public static bool IsVectorizable => true;

        public static float Invoke(float x, float y) => x * y;

        public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => x * y;

        public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x * y;

        public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x * y;
    }

    /// <summary>NaN-propagating maximum, +0 above -0 (<see cref="Math.Max(float, float)"/>), lane by lane.</summary>
    internal readonly struct MaxOperator : IBinaryOperator<float>
    {
        public static bool IsVectorizable => true;

        public static float Invoke(float x, float y) => Math.Max(x, y);

        public static Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => Vector128.Max(x, y);

        public static Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => Vector256.Max(x, y);

        public static Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => Vector512.Max(x, y);
    }
}
