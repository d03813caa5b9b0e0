using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Translation;

/// <summary>
/// Operations on <see cref="Known"/> constants with ONNX semantics (numpy broadcasting), used to fold shape logic and
/// constant subgraphs at export time. Each returns null when a result element cannot be known (a symbolic dimension
/// where a number is needed).
/// </summary>
internal static class KnownOps
{
    /// <summary>numpy broadcasting of two shapes; null when they do not broadcast.</summary>
    public static long[]? BroadcastShape(long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long x = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            long y = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (x != y && x != 1 && y != 1)
            {
                return null;
            }

            result[i] = x == 1 ? y : x;
        }

        return result;
    }

    /// <summary>Row-major strides.</summary>
    public static long[] Strides(long[] shape)
    {
        var s = new long[shape.Length];
        long acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= shape[i];
        }

        return s;
    }

    /// <summary>Index into a tensor of <paramref name="shape"/> broadcast to <paramref name="outShape"/>, for each output element.</summary>
    public static int[] BroadcastMap(long[] shape, long[] outShape)
    {
        long[] strides = Strides(shape);
        int offset = outShape.Length - shape.Length;
        long count = outShape.Aggregate(1L, (a, d) => a * d);
        var map = new int[count];
        var index = new long[outShape.Length];
        for (long n = 0; n < count; n++)
        {
            long src = 0;
            for (int i = 0; i < shape.Length; i++)
            {
                src += shape[i] == 1 ? 0 : index[i + offset] * strides[i];
            }

            map[n] = (int)src;
            for (int i = outShape.Length - 1; i >= 0; i--)
            {
                if (++index[i] < outShape[i])
                {
                    break;
                }

                index[i] = 0;
            }
        }

        return map;
    }

    /// <summary>The elements of <paramref name="source"/> at <paramref name="map"/>, as a tensor of <paramref name="shape"/>.</summary>
    public static Known Take(Known source, long[] shape, IReadOnlyList<int> map) =>
        source.Ints is not null
            ? Known.OfInts(source.DType, shape, [.. map.Select(i => source.Ints[i])])
            : Known.OfReals(source.DType, shape, [.. map.Select(i => source.Reals![i])]);

    /// <summary>An element-wise binary operation with broadcasting.</summary>
    /// <param name="a">First operand.</param>
    /// <param name="b">Second operand.</param>
    /// <param name="result">Result type.</param>
    /// <param name="real">On float operands (null: not foldable on floats).</param>
    /// <param name="integer">On integer operands (null result: not foldable).</param>
    public static Known? Binary(Known a, Known b, DType result, Func<double, double, double>? real, Func<Dim, Dim, Dim?>? integer)
    {
        long[]? shape = BroadcastShape(a.Shape, b.Shape);
        if (shape is null)
        {
            return null;
        }

        int[] ma = BroadcastMap(a.Shape, shape);
        int[] mb = BroadcastMap(b.Shape, shape);
        if (a.IsReal || b.IsReal)
        {
            if (real is null || !a.IsConcrete || !b.IsConcrete)
            {
                return null;
            }

            double[] x = a.ToDoubles();
            double[] y = b.ToDoubles();
            double[] r = [.. ma.Select((ia, n) => real(x[ia], y[mb[n]]))];
            return result.IsFloat() ? Known.OfReals(result, shape, r) : Known.OfInts(result, shape, [.. r.Select(v => (Dim)(long)v)]);
        }

        if (integer is null)
        {
            return null;
        }

        var values = new Dim[ma.Length];
        for (int n = 0; n < ma.Length; n++)
        {
            Dim? v = integer(a.Ints![ma[n]], b.Ints![mb[n]]);
            if (v is null)
            {
                return null;
            }

            values[n] = v;
        }

        return result.IsFloat() ? (values.All(v => v.IsConstant) ? Known.OfReals(result, shape, [.. values.Select(v => (double)Number(v))]) : null) : Known.OfInts(result, shape, values);
    }

    /// <summary>An element-wise unary operation.</summary>
    public static Known? Unary(Known a, Func<double, double>? real, Func<Dim, Dim?>? integer)
    {
        if (a.IsReal)
        {
            return real is null ? null : Known.OfReals(a.DType, a.Shape, [.. a.Reals!.Select(real)]);
        }

        if (integer is null)
        {
            return null;
        }

        var values = new Dim[a.Count];
        for (int n = 0; n < values.Length; n++)
        {
            Dim? v = integer(a.Ints![n]);
            if (v is null)
            {
                return null;
            }

            values[n] = v;
        }

        return Known.OfInts(a.DType, a.Shape, values);
    }

    /// <summary>Converts to another element type as ONNX <c>Cast</c> does (floats to integers truncate); null when a symbolic integer must become a float.</summary>
    public static Known? Cast(Known a, DType to)
    {
        if (to.IsFloat())
        {
            return a.IsConcrete ? Known.OfReals(to, a.Shape, a.ToDoubles()) : null;
        }

        if (to == DType.Bool)
        {
            return a.IsReal
                ? Known.OfInts(to, a.Shape, [.. a.Reals!.Select(v => (Dim)(v != 0 ? 1 : 0))])
                : a.IsConcrete ? Known.OfInts(to, a.Shape, [.. a.ToLongs().Select(v => (Dim)(v != 0 ? 1 : 0))]) : null;
        }

        if (a.IsReal)
        {
            return Known.OfInts(to, a.Shape, [.. a.Reals!.Select(v => (Dim)Wrap((long)Math.Truncate(v), to))]);
        }

        return Known.OfInts(to, a.Shape, [.. a.Ints!.Select(d => d.TryGetConstant(out long c) ? (Dim)Wrap(c, to) : d)]);
    }

    /// <summary>Permutes axes.</summary>
    public static Known Transpose(Known a, int[] perm)
    {
        long[] shape = [.. perm.Select(p => a.Shape[p])];
        long[] inStrides = Strides(a.Shape);
        var map = new List<int>();
        ForEachIndex(shape, index =>
        {
            long src = 0;
            for (int i = 0; i < perm.Length; i++)
            {
                src += index[i] * inStrides[perm[i]];
            }

            map.Add((int)src);
        });
        return Take(a, shape, map);
    }

    /// <summary>Concatenates along <paramref name="axis"/> (every part has the same type and rank).</summary>
    public static Known Concat(IReadOnlyList<Known> parts, int axis)
    {
        Known first = parts[0];
        long[] shape = [.. first.Shape];
        shape[axis] = parts.Sum(p => p.Shape[axis]);
        long outer = shape.Take(axis).Aggregate(1L, (x, d) => x * d);
        long inner = shape.Skip(axis + 1).Aggregate(1L, (x, d) => x * d);
        var ints = new List<Dim>();
        var reals = new List<double>();
        double[]?[] partReals = [.. parts.Select(p => first.IsReal ? p.ToDoubles() : null)];
        for (long o = 0; o < outer; o++)
        {
            for (int part = 0; part < parts.Count; part++)
            {
                Known p = parts[part];
                long block = p.Shape[axis] * inner;
                for (long i = 0; i < block; i++)
                {
                    int src = (int)((o * block) + i);
                    if (first.IsReal)
                    {
                        reals.Add(partReals[part]![src]);
                    }
                    else
                    {
                        ints.Add(p.Ints![src]);
                    }
                }
            }
        }

        return first.IsReal ? Known.OfReals(first.DType, shape, [.. reals]) : Known.OfInts(first.DType, shape, [.. ints]);
    }

    /// <summary>Elements <c>start, start + step, ...</c> (before <c>end</c>) along <paramref name="axis"/>.</summary>
    public static Known SliceAxis(Known a, int axis, long start, long end, long step)
    {
        long count = step > 0 ? Math.Max(0, (end - start + step - 1) / step) : Math.Max(0, (start - end - step - 1) / -step);
        long[] shape = [.. a.Shape];
        shape[axis] = count;
        long[] strides = Strides(a.Shape);
        var map = new List<int>();
        ForEachIndex(shape, index =>
        {
            long src = 0;
            for (int i = 0; i < shape.Length; i++)
            {
                src += (i == axis ? start + (index[i] * step) : index[i]) * strides[i];
            }

            map.Add((int)src);
        });
        return Take(a, shape, map);
    }

    /// <summary>numpy <c>take</c> along <paramref name="axis"/> (negative indices wrap).</summary>
    public static Known? Gather(Known data, Known indices, int axis)
    {
        if (!indices.IsConcrete)
        {
            return null;
        }

        long[] idx = indices.ToLongs();
        long dim = data.Shape[axis];
        if (idx.Any(i => i < -dim || i >= dim))
        {
            return null;
        }

        long[] shape = [.. data.Shape.Take(axis), .. indices.Shape, .. data.Shape.Skip(axis + 1)];
        long outer = data.Shape.Take(axis).Aggregate(1L, (x, d) => x * d);
        long inner = data.Shape.Skip(axis + 1).Aggregate(1L, (x, d) => x * d);
        var map = new List<int>();
        for (long o = 0; o < outer; o++)
        {
            foreach (long raw in idx)
            {
                long i = raw < 0 ? raw + dim : raw;
                for (long k = 0; k < inner; k++)
                {
                    map.Add((int)((((o * dim) + i) * inner) + k));
                }
            }
        }

        return Take(data, shape, map);
    }

    /// <summary>Broadcasts to <paramref name="shape"/>.</summary>
    public static Known BroadcastTo(Known a, long[] shape) => Take(a, shape, BroadcastMap(a.Shape, shape));

    /// <summary>Calls <paramref name="visit"/> with every multi-index of <paramref name="shape"/> in row-major order.</summary>
    public static void ForEachIndex(long[] shape, Action<long[]> visit)
    {
        long count = shape.Aggregate(1L, (a, d) => a * d);
        var index = new long[shape.Length];
        for (long n = 0; n < count; n++)
        {
            visit(index);
            for (int i = shape.Length - 1; i >= 0; i--)
            {
                if (++index[i] < shape[i])
                {
                    break;
                }

                index[i] = 0;
            }
        }
    }

    /// <summary>The number a constant dimension holds.</summary>
    public static long Number(Dim d) => d.TryGetConstant(out long c) ? c : throw new InvalidOperationException($"'{d}' is symbolic.");

    /// <summary>Wraps an integer to the range of an integer type, as a cast does.</summary>
    public static long Wrap(long v, DType to) => to switch
    {
        DType.I8 => (sbyte)v,
        DType.U8 => (byte)v,
        DType.I16 => (short)v,
        DType.U16 => (ushort)v,
        DType.I32 => (int)v,
        DType.U32 => (uint)v,
        _ => v,
    };
}
