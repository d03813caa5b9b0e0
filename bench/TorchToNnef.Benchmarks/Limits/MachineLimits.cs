using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Benchmarks.Limits;

/// <summary>
/// The machine's limits, measured by microbenchmarks in the same run as the kernels they judge: the peak rate of
/// fused multiply-adds (independent chains kept in registers, so neither latency nor memory limits them), the rate at
/// which one or two threads can stream-read a buffer far larger than the caches, and the rate of a plain copy.
/// </summary>
public static class MachineLimits
{
    /// <summary>Independent FMA chains per thread: enough to cover the FMA latency on every current core.</summary>
    public const int Chains = 12;

    /// <summary>f32 lanes of the widest accelerated vector (16, 8, 4, or 1 without SIMD).</summary>
    public static int Lanes =>
        Vector512.IsHardwareAccelerated ? 16 : Vector256.IsHardwareAccelerated ? 8 : Vector128.IsHardwareAccelerated ? 4 : 1;

    /// <summary>Runs <paramref name="iterations"/> rounds of <see cref="Chains"/> FMAs on each of <paramref name="threads"/> threads; returns f32 FMAs done.</summary>
    public static double FmaPeak(long iterations, int threads)
    {
        float sink = 0;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ =>
        {
            float r = Lanes switch
            {
                16 => Fma512(iterations),
                8 => Fma256(iterations),
                _ => Fma128(iterations),
            };
            Interlocked.Exchange(ref sink, r);
        });
        GC.KeepAlive(sink);
        return (double)iterations * Chains * Math.Max(Lanes, 4) * threads;
    }

    /// <summary>Sums <paramref name="buffer"/> split over <paramref name="threads"/> threads (read bandwidth); returns bytes read.</summary>
    public static double Read(float[] buffer, int threads)
    {
        int chunk = buffer.Length / threads / 64 * 64;
        float total = 0;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            int start = t * chunk;
            int length = t == threads - 1 ? buffer.Length - start : chunk;
            float s = Sum(buffer.AsSpan(start, length));
            Interlocked.Exchange(ref total, s);
        });
        GC.KeepAlive(total);
        return buffer.Length * 4.0;
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/> split over threads; returns bytes read plus written.</summary>
    public static double Copy(float[] source, float[] destination, int threads)
    {
        int chunk = source.Length / threads / 64 * 64;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            int start = t * chunk;
            int length = t == threads - 1 ? source.Length - start : chunk;
            source.AsSpan(start, length).CopyTo(destination.AsSpan(start, length));
        });
        return source.Length * 8.0;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Sum(ReadOnlySpan<float> values)
    {
        ref float x = ref MemoryMarshal.GetReference(values);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= values.Length - 64; i += 64)
            {
                a0 += Vector512.LoadUnsafe(ref x, (nuint)i);
                a1 += Vector512.LoadUnsafe(ref x, (nuint)(i + 16));
                a2 += Vector512.LoadUnsafe(ref x, (nuint)(i + 32));
                a3 += Vector512.LoadUnsafe(ref x, (nuint)(i + 48));
            }

            return Vector512.Sum(a0 + a1 + a2 + a3) + Tail(values[i..]);
        }

        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (; i <= values.Length - 32; i += 32)
        {
            b0 += Vector256.LoadUnsafe(ref x, (nuint)i);
            b1 += Vector256.LoadUnsafe(ref x, (nuint)(i + 8));
            b2 += Vector256.LoadUnsafe(ref x, (nuint)(i + 16));
            b3 += Vector256.LoadUnsafe(ref x, (nuint)(i + 24));
        }

        return Vector256.Sum(b0 + b1 + b2 + b3) + Tail(values[i..]);
    }

    private static float Tail(ReadOnlySpan<float> values)
    {
        float s = 0;
        foreach (float v in values)
        {
            s += v;
        }

        return s;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Fma512(long iterations)
    {
        Vector512<float> x = Vector512.Create(0.999999f), y = Vector512.Create(1e-7f);
        Vector512<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, x, y);
            a1 = Vector512.FusedMultiplyAdd(a1, x, y);
            a2 = Vector512.FusedMultiplyAdd(a2, x, y);
            a3 = Vector512.FusedMultiplyAdd(a3, x, y);
            a4 = Vector512.FusedMultiplyAdd(a4, x, y);
            a5 = Vector512.FusedMultiplyAdd(a5, x, y);
            a6 = Vector512.FusedMultiplyAdd(a6, x, y);
            a7 = Vector512.FusedMultiplyAdd(a7, x, y);
            a8 = Vector512.FusedMultiplyAdd(a8, x, y);
            a9 = Vector512.FusedMultiplyAdd(a9, x, y);
            a10 = Vector512.FusedMultiplyAdd(a10, x, y);
            a11 = Vector512.FusedMultiplyAdd(a11, x, y);
        }

        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Fma256(long iterations)
    {
        Vector256<float> x = Vector256.Create(0.999999f), y = Vector256.Create(1e-7f);
        Vector256<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, x, y);
            a1 = Vector256.FusedMultiplyAdd(a1, x, y);
            a2 = Vector256.FusedMultiplyAdd(a2, x, y);
            a3 = Vector256.FusedMultiplyAdd(a3, x, y);
            a4 = Vector256.FusedMultiplyAdd(a4, x, y);
            a5 = Vector256.FusedMultiplyAdd(a5, x, y);
            a6 = Vector256.FusedMultiplyAdd(a6, x, y);
            a7 = Vector256.FusedMultiplyAdd(a7, x, y);
            a8 = Vector256.FusedMultiplyAdd(a8, x, y);
            a9 = Vector256.FusedMultiplyAdd(a9, x, y);
            a10 = Vector256.FusedMultiplyAdd(a10, x, y);
            a11 = Vector256.FusedMultiplyAdd(a11, x, y);
        }

        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Fma128(long iterations)
    {
        Vector128<float> x = Vector128.Create(0.999999f), y = Vector128.Create(1e-7f);
        Vector128<float> a0 = x, a1 = x, a2 = x, a3 = x, a4 = x, a5 = x, a6 = x, a7 = x, a8 = x, a9 = x, a10 = x, a11 = x;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector128.FusedMultiplyAdd(a0, x, y);
            a1 = Vector128.FusedMultiplyAdd(a1, x, y);
            a2 = Vector128.FusedMultiplyAdd(a2, x, y);
            a3 = Vector128.FusedMultiplyAdd(a3, x, y);
            a4 = Vector128.FusedMultiplyAdd(a4, x, y);
            a5 = Vector128.FusedMultiplyAdd(a5, x, y);
            a6 = Vector128.FusedMultiplyAdd(a6, x, y);
            a7 = Vector128.FusedMultiplyAdd(a7, x, y);
            a8 = Vector128.FusedMultiplyAdd(a8, x, y);
            a9 = Vector128.FusedMultiplyAdd(a9, x, y);
            a10 = Vector128.FusedMultiplyAdd(a10, x, y);
            a11 = Vector128.FusedMultiplyAdd(a11, x, y);
        }

        return Vector128.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
