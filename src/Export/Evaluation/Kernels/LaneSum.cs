using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// The evaluator's order for summing a contiguous run of f32 values, the same at every width: value <c>16q + l</c> is
/// added to lane <c>l</c> of 16 lanes that start at +0 (in increasing q), then lanes are folded pairwise —
/// <c>l += l + 8</c>, <c>l += l + 4</c>, <c>l += l + 2</c>, <c>0 += 1</c>. One 512-bit vector, two 256-bit or four 128-bit
/// vectors, or 16 scalars hold the lanes, so every width adds the same numbers in the same order.
/// </summary>
internal static class LaneSum
{
    /// <summary>Lanes of the order.</summary>
    public const int Lanes = 16;

    /// <summary>Sum of <paramref name="values"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Sum(KernelWidth width, ReadOnlySpan<float> values)
    {
        Span<float> lanes = stackalloc float[Lanes];
        lanes.Clear();
        ref float x = ref MemoryMarshal.GetReference(values);
        int n = values.Length;
        int i = 0;
        switch (width)
        {
            case KernelWidth.Vector512:
            {
                Vector512<float> a = Vector512<float>.Zero;
                for (; i <= n - 16; i += 16)
                {
                    a += Vector512.LoadUnsafe(ref x, (nuint)i);
                }

                a.CopyTo(lanes);
                break;
            }

            case KernelWidth.Vector256:
            {
                Vector256<float> a = Vector256<float>.Zero, b = a;
                for (; i <= n - 16; i += 16)
                {
                    a += Vector256.LoadUnsafe(ref x, (nuint)i);
                    b += Vector256.LoadUnsafe(ref x, (nuint)(i + 8));
                }

                a.CopyTo(lanes);
                b.CopyTo(lanes[8..]);
                break;
            }

            case KernelWidth.Vector128:
            {
                Vector128<float> a = Vector128<float>.Zero, b = a, c = a, d = a;
                for (; i <= n - 16; i += 16)
                {
                    a += Vector128.LoadUnsafe(ref x, (nuint)i);
                    b += Vector128.LoadUnsafe(ref x, (nuint)(i + 4));
                    c += Vector128.LoadUnsafe(ref x, (nuint)(i + 8));
                    d += Vector128.LoadUnsafe(ref x, (nuint)(i + 12));
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
            lanes[i % Lanes] += Unsafe.Add(ref x, i);
        }

        return Fold(lanes);
    }

    /// <summary>Folds 16 lanes pairwise in the fixed order.</summary>
    public static float Fold(Span<float> lanes)
    {
        for (int half = Lanes / 2; half >= 1; half /= 2)
        {
            for (int l = 0; l < half; l++)
            {
                lanes[l] += lanes[l + half];
            }
        }

        return lanes[0];
    }
}
