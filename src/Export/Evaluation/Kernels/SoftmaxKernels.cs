using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// f32 softmax over one axis group, tract's order of operations: <c>m = max</c> (NaN-propagating, as
/// <see cref="Math.Max(float, float)"/>), <c>e = exp(x − m)</c> (<see cref="SoftmaxExp"/>), <c>s = Σ e</c>, <c>y = e · (1 / s)</c>.
/// Rows (the reduced axes innermost) sum in the <see cref="LaneSum"/> order, written once over <see cref="ILaneBlock{TSelf}"/>
/// for every vector width and read from memory once; columns (an inner axis kept) are summed in order along the reduced
/// axis, each lane an independent output. Results do not depend on the width.
/// </summary>
internal static class SoftmaxKernels
{
    /// <summary><paramref name="rows"/> contiguous rows of <paramref name="length"/> values.</summary>
    public static void Rows(KernelWidth width, float[] x, float[] y, int rows, int length, int threads)
    {
        if (x.Length < (long)rows * length || y.Length < (long)rows * length)
        {
            throw new ArgumentException($"softmax of {rows} rows of {length} needs {(long)rows * length} values, given {x.Length} and {y.Length}.");
        }

        void Range(int r0, int r1)
        {
            switch (width)
            {
                case KernelWidth.Vector512:
                    RowsPipelined512(x, y, r0, r1, length);
                    break;
                case KernelWidth.Vector256:
                    RowsInLaneBlocks<LaneBlock256>(x, y, r0, r1, length);
                    break;
                case KernelWidth.Vector128:
                    RowsInLaneBlocks<LaneBlock128>(x, y, r0, r1, length);
                    break;
                default:
                    for (int r = r0; r < r1; r++)
                    {
                        ScalarRow(x.AsSpan(r * length, length), y.AsSpan(r * length, length));
                    }

                    break;
            }
        }

        Parallelize(rows, (long)rows * length, threads, Range);
    }

    /// <summary>The reference: one row, one value at a time, summed into the 16 lanes of the <see cref="LaneSum"/> order.</summary>
    private static void ScalarRow(ReadOnlySpan<float> x, Span<float> y)
    {
        float max = float.NegativeInfinity;
        foreach (float v in x)
        {
            max = Math.Max(max, v);
        }

        Span<float> lanes = stackalloc float[LaneSum.Lanes];
        lanes.Clear();
        for (int i = 0; i < x.Length; i++)
        {
            float e = SoftmaxExp.Exp(x[i] - max);
            y[i] = e;
            lanes[i % LaneSum.Lanes] += e;
        }

        float scale = 1f / LaneSum.Fold(lanes);
        for (int i = 0; i < y.Length; i++)
        {
            y[i] *= scale;
        }
    }

    // Rows r0..r1 at a vector width, with the operations of the scalar reference on the same lanes: the maximum (its
    // value does not depend on the order; the native instruction differs from Math.Max only for NaN, which makes every
    // output of the row NaN either way, and in the sign of a zero maximum, which exp(x - max) does not see), then
    // exp(x - max) stored and summed block by block into the 16 lanes (the tail, exp'd one value at a time, joins its
    // lanes as a zero-padded block: lanes start at +0 and only ever add values >= +0, so the padding changes nothing),
    // the LaneSum fold, then the scaling. The row is read from memory once: while row r is exponentiated, the loop also
    // reads row r + 1 for its maximum, so the next row streams in under the exp arithmetic instead of in a pass of its
    // own, and the later passes over a row hit the cache.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsInLaneBlocks<TBlock>(float[] x, float[] y, int r0, int r1, int n)
        where TBlock : struct, ILaneBlock<TBlock>
    {
        if (r0 >= r1 || n == 0)
        {
            return;
        }

        Span<float> lanes = stackalloc float[LaneSum.Lanes];
        ref float lane0 = ref MemoryMarshal.GetReference(lanes);
        ref float x0 = ref MemoryMarshal.GetArrayDataReference(x);
        ref float y0 = ref MemoryMarshal.GetArrayDataReference(y);
        int whole = n & ~(LaneSum.Lanes - 1);

        // The first row's maximum has no previous row to ride on.
        float max = RowMax<TBlock>(ref Unsafe.Add(ref x0, (nint)r0 * n), whole, n);
        for (int r = r0; r < r1; r++)
        {
            ref float xr = ref Unsafe.Add(ref x0, (nint)r * n);
            ref float yr = ref Unsafe.Add(ref y0, (nint)r * n);
            bool hasNext = r + 1 < r1;
            TBlock m = TBlock.Splat(max);
            TBlock sum = TBlock.Splat(0f);
            TBlock nextMax = TBlock.Splat(float.NegativeInfinity);
            if (hasNext)
            {
                ref float xn = ref Unsafe.Add(ref xr, n);
                for (int i = 0; i < whole; i += LaneSum.Lanes)
                {
                    nextMax = TBlock.MaxNative(nextMax, TBlock.Load(ref xn, (nuint)i));
                    TBlock e = TBlock.SoftmaxExp(TBlock.Subtract(TBlock.Load(ref xr, (nuint)i), m));
                    TBlock.Store(e, ref yr, (nuint)i);
                    sum = TBlock.Add(sum, e);
                }
            }
            else
            {
                for (int i = 0; i < whole; i += LaneSum.Lanes)
                {
                    TBlock e = TBlock.SoftmaxExp(TBlock.Subtract(TBlock.Load(ref xr, (nuint)i), m));
                    TBlock.Store(e, ref yr, (nuint)i);
                    sum = TBlock.Add(sum, e);
                }
            }

            if (whole < n)
            {
                lanes.Clear();
                for (int t = 0; whole + t < n; t++)
                {
                    float e = SoftmaxExp.Exp(Unsafe.Add(ref xr, whole + t) - max);
                    Unsafe.Add(ref yr, whole + t) = e;
                    Unsafe.Add(ref lane0, t) = e;
                }

                sum = TBlock.Add(sum, TBlock.Load(ref lane0, 0));
            }

            float scale = 1f / TBlock.SumAcross(sum);
            TBlock s = TBlock.Splat(scale);
            int k = 0;
            for (; k < whole; k += LaneSum.Lanes)
            {
                TBlock.Store(TBlock.Multiply(TBlock.Load(ref yr, (nuint)k), s), ref yr, (nuint)k);
            }

            for (; k < n; k++)
            {
                Unsafe.Add(ref yr, k) *= scale;
            }

            if (hasNext)
            {
                max = MaxOf(nextMax, ref Unsafe.Add(ref xr, n), whole, n);
            }
        }
    }

    // RowsInLaneBlocks with the passes of consecutive rows overlapped, at 512 bits: one loop reads row r + 1 for its
    // maximum, exponentiates row r into a scratch row (which stays in the cache), and writes row r - 1 scaled from the
    // other scratch row, so x is read and y written exactly once, each as an even stream under the exp arithmetic
    // (writing e into y and scaling it in place later stalls on y's cache misses twice). Same operations on the same
    // values as the reference; the sum adds the blocks of a row in order, as LaneSum does. Four blocks a step give four
    // independent exp chains in flight, and the exp constants are made once per call (SoftmaxExpConstants512) so they
    // stay in registers: the JIT reloads a Vector512.Create constant from memory at each use inside the loop. (An
    // in-process probe's figures, thread CPU time, one thread, 64 rows of 1024 in cache, 64 times: 0.60-0.66 ms against
    // 0.90-1.01 ms for the two-blocks-a-step loop with the general exp it replaces; the repository's case for this is
    // ElementWiseKernelBenchmarks.SoftmaxRowsInCacheOneThread.) The 256- and 128-bit blocks hold too many registers in
    // this loop and run slower than without it.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowsPipelined512(float[] x, float[] y, int r0, int r1, int n)
    {
        if (r0 >= r1 || n == 0)
        {
            return;
        }

        const int Lanes = LaneSum.Lanes;
        float[] scratchRows = ArrayPool<float>.Shared.Rent(2 * n);
        try
        {
            Span<float> lanes = stackalloc float[Lanes];
            ref float lane0 = ref MemoryMarshal.GetReference(lanes);
            ref float x0 = ref MemoryMarshal.GetArrayDataReference(x);
            ref float y0 = ref MemoryMarshal.GetArrayDataReference(y);
            ref float s0 = ref MemoryMarshal.GetArrayDataReference(scratchRows);
            int whole = n & ~(Lanes - 1);
            SoftmaxExpConstants512 k = SoftmaxExpConstants512.Create();

            float max = RowMax<LaneBlock512>(ref Unsafe.Add(ref x0, (nint)r0 * n), whole, n);
            float previousScale = 0f;
            for (int r = r0; r < r1; r++)
            {
                ref float xr = ref Unsafe.Add(ref x0, (nint)r * n);
                ref float xn = ref Unsafe.Add(ref xr, n);
                ref float current = ref Unsafe.Add(ref s0, (r & 1) * n);
                ref float previous = ref Unsafe.Add(ref s0, ((r + 1) & 1) * n);
                bool hasNext = r + 1 < r1;
                bool hasPrevious = r > r0;

                // Row r - 1's output (only formed as a reference when that row exists).
                ref float yp = ref hasPrevious ? ref Unsafe.Add(ref y0, (nint)(r - 1) * n) : ref y0;
                Vector512<float> m = Vector512.Create(max);
                Vector512<float> s = Vector512.Create(previousScale);
                Vector512<float> sum = Vector512<float>.Zero;
                Vector512<float> nextMax = Vector512.Create(float.NegativeInfinity);
                int i = 0;
                if (hasNext && hasPrevious)
                {
                    for (; i <= whole - (4 * Lanes); i += 4 * Lanes)
                    {
                        nuint a = (nuint)i, b = a + Lanes, c = a + (2 * Lanes), d = a + (3 * Lanes);
                        nextMax = Vector512.MaxNative(Vector512.MaxNative(nextMax, Vector512.LoadUnsafe(ref xn, a)), Vector512.LoadUnsafe(ref xn, b));
                        nextMax = Vector512.MaxNative(Vector512.MaxNative(nextMax, Vector512.LoadUnsafe(ref xn, c)), Vector512.LoadUnsafe(ref xn, d));
                        Vector512<float> e0 = SoftmaxExp.Exp(Vector512.LoadUnsafe(ref xr, a) - m, k);
                        Vector512<float> e1 = SoftmaxExp.Exp(Vector512.LoadUnsafe(ref xr, b) - m, k);
                        Vector512<float> e2 = SoftmaxExp.Exp(Vector512.LoadUnsafe(ref xr, c) - m, k);
                        Vector512<float> e3 = SoftmaxExp.Exp(Vector512.LoadUnsafe(ref xr, d) - m, k);
                        e0.StoreUnsafe(ref current, a);
                        e1.StoreUnsafe(ref current, b);
                        e2.StoreUnsafe(ref current, c);
                        e3.StoreUnsafe(ref current, d);
                        sum = (((sum + e0) + e1) + e2) + e3;
                        (Vector512.LoadUnsafe(ref previous, a) * s).StoreUnsafe(ref yp, a);
                        (Vector512.LoadUnsafe(ref previous, b) * s).StoreUnsafe(ref yp, b);
                        (Vector512.LoadUnsafe(ref previous, c) * s).StoreUnsafe(ref yp, c);
                        (Vector512.LoadUnsafe(ref previous, d) * s).StoreUnsafe(ref yp, d);
                    }
                }

                // The rest of the blocks (all of them in the first and last rows of the range), one at a time.
                for (; i < whole; i += Lanes)
                {
                    Vector512<float> e = SoftmaxExp.Exp(Vector512.LoadUnsafe(ref xr, (nuint)i) - m, k);
                    e.StoreUnsafe(ref current, (nuint)i);
                    sum += e;
                    if (hasNext)
                    {
                        nextMax = Vector512.MaxNative(nextMax, Vector512.LoadUnsafe(ref xn, (nuint)i));
                    }

                    if (hasPrevious)
                    {
                        (Vector512.LoadUnsafe(ref previous, (nuint)i) * s).StoreUnsafe(ref yp, (nuint)i);
                    }
                }

                if (whole < n)
                {
                    lanes.Clear();
                    for (int t = 0; whole + t < n; t++)
                    {
                        float e = SoftmaxExp.Exp(Unsafe.Add(ref xr, whole + t) - max);
                        Unsafe.Add(ref current, whole + t) = e;
                        Unsafe.Add(ref lane0, t) = e;
                    }

                    sum += Vector512.LoadUnsafe(ref lane0);
                    if (hasPrevious)
                    {
                        for (int t = whole; t < n; t++)
                        {
                            Unsafe.Add(ref yp, t) = Unsafe.Add(ref previous, t) * previousScale;
                        }
                    }
                }

                previousScale = 1f / LaneBlock512.SumAcross(new LaneBlock512(sum));
                if (hasNext)
                {
                    max = MaxOf(new LaneBlock512(nextMax), ref xn, whole, n);
                }
            }

            // The last row's scaling has no next row to ride on.
            ref float yLast = ref Unsafe.Add(ref y0, (nint)(r1 - 1) * n);
            ref float last = ref Unsafe.Add(ref s0, ((r1 - 1) & 1) * n);
            Vector512<float> lastScale = Vector512.Create(previousScale);
            int q = 0;
            for (; q < whole; q += Lanes)
            {
                (Vector512.LoadUnsafe(ref last, (nuint)q) * lastScale).StoreUnsafe(ref yLast, (nuint)q);
            }

            for (; q < n; q++)
            {
                Unsafe.Add(ref yLast, q) = Unsafe.Add(ref last, q) * previousScale;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratchRows);
        }
    }

    // The maximum of a row on its own (the first row of a range, which no previous row's pass has read ahead).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float RowMax<TBlock>(ref float row, int whole, int n)
        where TBlock : struct, ILaneBlock<TBlock>
    {
        TBlock blockMax = TBlock.Splat(float.NegativeInfinity);
        for (int i = 0; i < whole; i += LaneSum.Lanes)
        {
            blockMax = TBlock.MaxNative(blockMax, TBlock.Load(ref row, (nuint)i));
        }

        return MaxOf(blockMax, ref row, whole, n);
    }

    // The maximum of a row from the block maximum of its first `whole` values and the rest one at a time.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float MaxOf<TBlock>(TBlock blockMax, ref float row, int whole, int n)
        where TBlock : struct, ILaneBlock<TBlock>
    {
        float max = TBlock.MaxAcross(blockMax);
        for (int i = whole; i < n; i++)
        {
            max = Math.Max(max, Unsafe.Add(ref row, i));
        }

        return max;
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
                    ElementWiseLoops.Run<SoftmaxExpOperator, float>(width, e, e);
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
