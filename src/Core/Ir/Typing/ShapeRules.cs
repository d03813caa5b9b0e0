using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>Shape arithmetic on symbolic dimensions shared by the operator rules, and element maps for known values.</summary>
internal static class ShapeRules
{
    private static readonly Dim One = Dim.Of(1);

    public static string Format(IReadOnlyList<Dim> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>tract's <c>multi_rank_broadcast</c>: a lower-rank operand gets trailing unit axes.</summary>
    public static IReadOnlyList<Dim> AppendUnitAxes(IReadOnlyList<Dim> shape, int rank) =>
        shape.Count >= rank ? shape : [.. shape, .. Enumerable.Repeat(One, rank - shape.Count)];

    /// <summary>
    /// numpy broadcasting (right-aligned): every axis equal or 1. Dimensions that are neither provably equal nor 1
    /// (<c>S</c> against <c>P</c>, or against 4) are a conflict.
    /// </summary>
    public static Dim[] Broadcast(params IReadOnlyList<Dim>[] shapes)
    {
        int rank = shapes.Max(s => s.Count);
        var result = new Dim[rank];
        for (int i = 0; i < rank; i++)
        {
            Dim d = One;
            foreach (IReadOnlyList<Dim> s in shapes)
            {
                int k = i - (rank - s.Count);
                Dim x = k >= 0 ? s[k] : One;
                if (x == One || x == d)
                {
                    continue;
                }

                if (d != One)
                {
                    throw new InvalidGraphException(null, $"shapes {string.Join(" and ", shapes.Select(Format))} do not broadcast (axis {i}: {d} against {x})");
                }

                d = x;
            }

            result[i] = d;
        }

        return result;
    }

    public static Dim Product(IEnumerable<Dim> dims) => dims.Aggregate(One, (p, d) => p * d);

    /// <summary>The dimensions as integers when they all are known.</summary>
    public static long[]? Concrete(IReadOnlyList<Dim> shape)
    {
        var r = new long[shape.Count];
        for (int i = 0; i < r.Length; i++)
        {
            if (!shape[i].TryGetConstant(out r[i]))
            {
                return null;
            }
        }

        return r;
    }

    public static long[] Strides(long[] shape)
    {
        var strides = new long[shape.Length];
        long s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= shape[i];
        }

        return strides;
    }

    /// <summary>For each element of <paramref name="outShape"/>, the index it reads in <paramref name="inShape"/> under broadcasting.</summary>
    public static long[] BroadcastMap(long[] inShape, long[] outShape)
    {
        long volume = outShape.Aggregate(1L, (p, d) => p * d);
        long[] inStrides = Strides(inShape);
        int offset = outShape.Length - inShape.Length;
        var map = new long[volume];
        for (long i = 0; i < volume; i++)
        {
            long rem = i;
            long src = 0;
            for (int ax = outShape.Length - 1; ax >= 0; ax--)
            {
                long c = rem % outShape[ax];
                rem /= outShape[ax];
                int k = ax - offset;
                if (k >= 0 && inShape[k] != 1)
                {
                    src += c * inStrides[k];
                }
            }

            map[i] = src;
        }

        return map;
    }

    /// <summary>Element-wise combination of known values with broadcasting; null when a shape or a result is unknown.</summary>
    public static Dim[]? Combine(StaticTensor a, StaticTensor b, IReadOnlyList<Dim> outShape, Func<Dim, Dim, Dim?> f)
    {
        if (a.Values is null || b.Values is null || Concrete(a.Shape) is not long[] sa || Concrete(b.Shape) is not long[] sb || Concrete(outShape) is not long[] so)
        {
            return null;
        }

        long[] ma = BroadcastMap(sa, so);
        long[] mb = BroadcastMap(sb, so);
        var r = new Dim[ma.Length];
        for (int i = 0; i < r.Length; i++)
        {
            if (f(a.Values[ma[i]], b.Values[mb[i]]) is not Dim d)
            {
                return null;
            }

            r[i] = d;
        }

        return r;
    }

    /// <summary>Known values rearranged by an index map over a concrete output (null when unknown).</summary>
    public static Dim[]? Take(Dim[]? values, long[] map) => values is null ? null : [.. map.Select(i => values[i])];

    /// <summary>Index map of a strided copy: for each output position, the input index.</summary>
    public static long[]? StridedMap(IReadOnlyList<Dim> outShape, long[] strides, long start)
    {
        if (Concrete(outShape) is not long[] shape)
        {
            return null;
        }

        long volume = shape.Aggregate(1L, (p, d) => p * d);
        if (volume > StaticCoerce.MaxTrackedElements)
        {
            return null;
        }

        var map = new long[volume];
        for (long i = 0; i < volume; i++)
        {
            long rem = i;
            long src = start;
            for (int ax = shape.Length - 1; ax >= 0; ax--)
            {
                src += rem % shape[ax] * strides[ax];
                rem /= shape[ax];
            }

            map[i] = src;
        }

        return map;
    }

    /// <summary>Checks an axis against a rank.</summary>
    public static int Axis(long axis, int rank, string what) =>
        axis >= 0 && axis < rank ? (int)axis : throw new InvalidGraphException(null, $"{what} axis {axis} is outside rank {rank}");

    /// <summary>Is <paramref name="d"/> provably 1?</summary>
    public static bool IsOne(Dim d) => d == One;
}
