using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// f32 <c>leaky_relu</c>: <c>x &lt; 0 ? alpha · x : x</c>. The vector forms select per lane between the product and the
/// value on the same comparison, so every lane gets the scalar form's bits (NaN and -0 compare false and pass through
/// unchanged, -inf becomes alpha · -inf). The operator structs take no argument, hence a kernel of its own for alpha.
/// </summary>
internal static class LeakyReluKernel
{
    /// <summary>Scalar form: the reference.</summary>
    public static float Invoke(float x, float alpha) => x < 0f ? alpha * x : x;

    /// <summary>Maps <paramref name="source"/> into <paramref name="destination"/> (same length), split over threads above the element-wise threshold.</summary>
    public static void Run(KernelWidth width, float[] source, float[] destination, float alpha, int threads)
    {
        if (threads > 1 && source.Length >= ElementWiseLoops.ParallelThreshold)
        {
            ElementWiseLoops.ForEachPart(source.Length, threads, (start, length) => Run(width, source.AsSpan(start, length), destination.AsSpan(start, length), alpha));
            return;
        }

        Run(width, source, destination, alpha);
    }

    /// <summary>Maps contiguous values at <paramref name="width"/>; <paramref name="destination"/> is at least as long as <paramref name="source"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(KernelWidth width, ReadOnlySpan<float> source, Span<float> destination, float alpha)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("destination shorter than source", nameof(destination));
        }

        ref float x = ref MemoryMarshal.GetReference(source);
        ref float d = ref MemoryMarshal.GetReference(destination);
        int n = source.Length;
        int i = 0;
        if (width == KernelWidth.Vector512)
        {
            Vector512<float> a = Vector512.Create(alpha);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                Vector512<float> v = Vector512.LoadUnsafe(ref x, (nuint)i);
                Vector512.ConditionalSelect(Vector512.LessThan(v, Vector512<float>.Zero), a * v, v).StoreUnsafe(ref d, (nuint)i);
            }
        }

        if (width >= KernelWidth.Vector256)
        {
            Vector256<float> a = Vector256.Create(alpha);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> v = Vector256.LoadUnsafe(ref x, (nuint)i);
                Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256<float>.Zero), a * v, v).StoreUnsafe(ref d, (nuint)i);
            }
        }

        if (width >= KernelWidth.Vector128)
        {
            Vector128<float> a = Vector128.Create(alpha);
            for (; i <= n - Vector128<float>.Count; i += Vector128<float>.Count)
            {
                Vector128<float> v = Vector128.LoadUnsafe(ref x, (nuint)i);
                Vector128.ConditionalSelect(Vector128.LessThan(v, Vector128<float>.Zero), a * v, v).StoreUnsafe(ref d, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref d, i) = Invoke(Unsafe.Add(ref x, i), alpha);
        }
    }
}
