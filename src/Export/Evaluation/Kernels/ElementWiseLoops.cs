using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// The loops of the element-wise operators: one generic driver per arity over operator structs, at a given vector width
/// (the widest first, then narrower vectors, then the scalar form for the last elements, all giving the same bits since
/// each lane is computed alone), over <see cref="BroadcastPlan"/> rows, split over threads when large.
/// </summary>
internal static class ElementWiseLoops
{
    /// <summary>Outputs smaller than this run on one thread.</summary>
    public const int ParallelThreshold = 1 << 18;

    /// <summary>
    /// <c>dst = op(x, y)</c> over <paramref name="outShape"/>, inputs broadcast (each of the output's rank, axes equal or 1).
    /// </summary>
    public static void Binary<TOp, T>(KernelWidth width, T[] x, int[] xShape, T[] y, int[] yShape, T[] dst, int[] outShape, int threads)
        where TOp : struct, IBinaryOperator<T>
        where T : struct
    {
        if (dst.Length == 0)
        {
            return;
        }

        // Each input whole or a single value: the plan would be one row with strides 1 or 0, so run that row directly.
        int n = dst.Length;
        if ((x.Length == n || x.Length == 1) && (y.Length == n || y.Length == 1) && (threads <= 1 || n < ParallelThreshold))
        {
            ref T x0 = ref MemoryMarshal.GetArrayDataReference(x);
            ref T y0 = ref MemoryMarshal.GetArrayDataReference(y);
            Run<TOp, T>(width, ref x0, x.Length == 1 ? 0 : 1, ref y0, y.Length == 1 ? 0 : 1, ref MemoryMarshal.GetArrayDataReference(dst), n);
            return;
        }

        BroadcastPlan plan = BroadcastPlan.Create(outShape, xShape, yShape);
        if (threads <= 1 || (long)plan.Rows * plan.Inner < ParallelThreshold)
        {
            Rows<TOp, T>(width, plan, x, y, dst, 0, plan.Rows, 0, plan.Inner);
            return;
        }

        Split(plan, threads, (r0, r1, c0, c1) => Rows<TOp, T>(width, plan, x, y, dst, r0, r1, c0, c1));
    }

    // Rows [r0, r1), columns [c0, c1) of a planned binary operation.
    private static void Rows<TOp, T>(KernelWidth width, BroadcastPlan plan, T[] x, T[] y, T[] dst, int r0, int r1, int c0, int c1)
        where TOp : struct, IBinaryOperator<T>
        where T : struct
    {
        int sx = plan.InnerStrides[0];
        int sy = plan.InnerStrides[1];
        ref T xs = ref MemoryMarshal.GetArrayDataReference(x);
        ref T ys = ref MemoryMarshal.GetArrayDataReference(y);
        ref T ds = ref MemoryMarshal.GetArrayDataReference(dst);
        if (plan.Rows == 1)
        {
            Run<TOp, T>(width, ref Unsafe.Add(ref xs, c0 * sx), sx, ref Unsafe.Add(ref ys, c0 * sy), sy, ref Unsafe.Add(ref ds, c0), c1 - c0);
            return;
        }

        BroadcastPlan.Cursor cursor = plan.At(r0);
        for (int r = r0; r < r1; r++)
        {
            ref T xr = ref Unsafe.Add(ref xs, cursor.Offsets[0] + (c0 * sx));
            ref T yr = ref Unsafe.Add(ref ys, cursor.Offsets[1] + (c0 * sy));
            ref T dr = ref Unsafe.Add(ref ds, (r * plan.Inner) + c0);
            Run<TOp, T>(width, ref xr, sx, ref yr, sy, ref dr, c1 - c0);
            cursor.Next();
        }
    }

    /// <summary>Unary operator over arrays, split over threads in place (no copies).</summary>
    public static void Unary<TOp, T>(KernelWidth width, T[] x, T[] dst, int threads)
        where TOp : struct, IUnaryOperator<T>
        where T : struct
    {
        if (threads > 1 && x.Length >= ParallelThreshold)
        {
            ForEachPart(x.Length, threads, (start, length) => Run<TOp, T>(width, x.AsSpan(start, length), dst.AsSpan(start, length)));
            return;
        }

        Run<TOp, T>(width, x, dst);
    }

    /// <summary>
    /// Calls <paramref name="body"/>(start, length) on each of <paramref name="threads"/> parts of [0,
    /// <paramref name="length"/>) (<see cref="Part"/>), in parallel: how a contiguous element-wise map is split.
    /// </summary>
    public static void ForEachPart(int length, int threads, Action<int, int> body) =>
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
        {
            (int start, int count) = Part(length, threads, part);
            body(start, count);
        });

    /// <summary>Part <paramref name="part"/> of <paramref name="threads"/> of a range, aligned to 64 elements.</summary>
    public static (int Start, int Length) Part(int length, int threads, int part)
    {
        int chunk = ((length + threads - 1) / threads + 63) / 64 * 64;
        int start = Math.Min(length, part * chunk);
        return (start, Math.Min(chunk, length - start));
    }

    /// <summary>
    /// Calls <paramref name="body"/>(rowStart, rowEnd, columnStart, columnEnd) over pieces of a plan's output: whole rows
    /// split over threads, or, with fewer rows than threads, column ranges of every row.
    /// </summary>
    public static void Split(BroadcastPlan plan, int threads, Action<int, int, int, int> body)
    {
        long total = (long)plan.Rows * plan.Inner;
        if (threads <= 1 || total < ParallelThreshold)
        {
            body(0, plan.Rows, 0, plan.Inner);
            return;
        }

        if (plan.Rows >= threads)
        {
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
            {
                int r0 = (int)((long)plan.Rows * part / threads);
                int r1 = (int)((long)plan.Rows * (part + 1) / threads);
                if (r0 < r1)
                {
                    body(r0, r1, 0, plan.Inner);
                }
            });
            return;
        }

        ForEachPart(plan.Inner, threads, (c0, length) =>
        {
            if (length > 0)
            {
                body(0, plan.Rows, c0, c0 + length);
            }
        });
    }

    /// <summary>One row of a binary operator: contiguous, constant (stride 0) or strided inputs.</summary>
    public static void Run<TOp, T>(KernelWidth width, ref T x, int sx, ref T y, int sy, ref T d, int n)
        where TOp : struct, IBinaryOperator<T>
        where T : struct
    {
        int i = !TOp.IsVectorizable ? 0 : (sx, sy) switch
        {
            (1, 1) => Both<TOp, T>(width, ref x, ref y, ref d, n),
            (1, 0) => LeftOnly<TOp, T>(width, ref x, y, ref d, n),
            (0, 1) => RightOnly<TOp, T>(width, x, ref y, ref d, n),
            _ => 0,
        };
        for (; i < n; i++)
        {
            Unsafe.Add(ref d, i) = TOp.Invoke(Unsafe.Add(ref x, i * sx), Unsafe.Add(ref y, i * sy));
        }
    }

    // Both inputs contiguous; returns how many elements were done with vectors.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Both<TOp, T>(KernelWidth width, ref T x, ref T y, ref T d, int n)
        where TOp : struct, IBinaryOperator<T>
        where T : struct
    {
        int i = 0;
        if (width == KernelWidth.Vector512)
        {
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                TOp.Invoke(Vector512.LoadUnsafe(ref x, (nuint)i), Vector512.LoadUnsafe(ref y, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
            }
        }

        if (width >= KernelWidth.Vector256)
        {
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                TOp.Invoke(Vector256.LoadUnsafe(ref x, (nuint)i), Vector256.LoadUnsafe(ref y, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
            }
        }

        if (width >= KernelWidth.Vector128)
        {
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
            {
                TOp.Invoke(Vector128.LoadUnsafe(ref x, (nuint)i), Vector128.LoadUnsafe(ref y, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
            }
        }

        return i;
    }

    // x contiguous, one y for the row.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int LeftOnly<TOp, T>(KernelWidth width, ref T x, T y, ref T d, int n)
        where TOp : struct, IBinaryOperator<T>
        where T : struct
    {
        int i = 0;
        if (width == KernelWidth.Vector512)
        {
            Vector512<T> vy = Vector512.Create(y);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                TOp.Invoke(Vector512.LoadUnsafe(ref x, (nuint)i), vy).StoreUnsafe(ref d, (nuint)i);
            }
        }

        if (width >= KernelWidth.Vector256)
        {
            Vector256<T> vy = Vector256.Create(y);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                TOp.Invoke(Vector256.LoadUnsafe(ref x, (nuint)i), vy).StoreUnsafe(ref d, (nuint)i);
            }
        }

        if (width >= KernelWidth.Vector128)
        {
            Vector128<T> vy = Vector128.Create(y);
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
            {
                TOp.Invoke(Vector128.LoadUnsafe(ref x, (nuint)i), vy).StoreUnsafe(ref d, (nuint)i);
            }
        }

        return i;
    }

    // One x for the row, y contiguous.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int RightOnly<TOp, T>(KernelWidth width, T x, ref T y, ref T d, int n)
        where TOp : struct, IBinaryOperator<T>
        where T : struct
    {
        int i = 0;
        if (width == KernelWidth.Vector512)
        {
            Vector512<T> vx = Vector512.Create(x);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                TOp.Invoke(vx, Vector512.LoadUnsafe(ref y, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
            }
        }

        if (width >= KernelWidth.Vector256)
        {
            Vector256<T> vx = Vector256.Create(x);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                TOp.Invoke(vx, Vector256.LoadUnsafe(ref y, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
            }
        }

        if (width >= KernelWidth.Vector128)
        {
            Vector128<T> vx = Vector128.Create(x);
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
            {
                TOp.Invoke(vx, Vector128.LoadUnsafe(ref y, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
            }
        }

        return i;
    }

    /// <summary>A unary operator over contiguous values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TOp, T>(KernelWidth width, ReadOnlySpan<T> source, Span<T> destination)
        where TOp : struct, IUnaryOperator<T>
        where T : struct
    {
        ref T x = ref MemoryMarshal.GetReference(source);
        ref T d = ref MemoryMarshal.GetReference(destination);
        int n = source.Length;
        int i = 0;
        if (TOp.IsVectorizable)
        {
            if (width == KernelWidth.Vector512)
            {
                for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                {
                    TOp.Invoke(Vector512.LoadUnsafe(ref x, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
                }
            }

            if (width >= KernelWidth.Vector256)
            {
                for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                {
                    TOp.Invoke(Vector256.LoadUnsafe(ref x, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
                }
            }

            if (width >= KernelWidth.Vector128)
            {
                for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
                {
                    TOp.Invoke(Vector128.LoadUnsafe(ref x, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
                }
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref d, i) = TOp.Invoke(Unsafe.Add(ref x, i));
        }
    }
}
