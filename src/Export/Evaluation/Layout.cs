using TorchToNnef.Errors;

namespace TorchToNnef.Export.Evaluation;

/// <summary>Shape arithmetic and index maps shared by the operators: strides, broadcasting, permutations, gathers.</summary>
internal static class Layout
{
    /// <summary>Row-major strides of <paramref name="shape"/>.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= shape[i];
        }

        return strides;
    }

    /// <summary>tract's <c>multi_rank_broadcast</c>: a lower-rank value gets trailing unit axes.</summary>
    public static TensorValue AppendUnitAxes(TensorValue v, int rank)
    {
        if (v.Rank >= rank)
        {
            return v;
        }

        int[] shape = [.. v.ShapeArray, .. Enumerable.Repeat(1, rank - v.Rank)];
        return v.WithShape(shape);
    }

    /// <summary>
    /// <see cref="BroadcastShape(int[][])"/> of two shapes; when the result equals one of them, that array itself (shapes
    /// are never written to once a value holds them), so the common element-wise case allocates nothing.
    /// </summary>
    public static int[] BroadcastShape(int[] a, int[] b)
    {
        if (a.Length == b.Length)
        {
            bool isA = true, isB = true;
            for (int i = 0; i < a.Length; i++)
            {
                isA &= a[i] == b[i] || b[i] == 1;
                isB &= a[i] == b[i] || a[i] == 1;
            }

            if (isA)
            {
                return a;
            }

            if (isB)
            {
                return b;
            }
        }

        return BroadcastShape([a, b]);
    }

    /// <summary>numpy broadcasting of equal-rank shapes: every axis equal or 1.</summary>
    public static int[] BroadcastShape(params int[][] shapes)
    {
        int rank = 0;
        foreach (int[] s in shapes)
        {
            rank = Math.Max(rank, s.Length);
        }

        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int d = 1;
            foreach (int[] s in shapes)
            {
                // numpy aligns on the right; callers that follow tract have already equalized ranks.
                int k = i - (rank - s.Length);
                int x = k >= 0 ? s[k] : 1;
                if (x != 1)
                {
                    if (d != 1 && d != x)
                    {
                        throw new InvalidGraphException(null, $"shapes {string.Join(" and ", shapes.Select(sh => Format(sh)))} do not broadcast");
                    }

                    d = x;
                }
            }

            result[i] = d;
        }

        return result;
    }

    /// <summary>numpy broadcast of <paramref name="v"/> (rank at most the target's, aligned on the right) to <paramref name="shape"/>, as one strided copy.</summary>
    public static TensorValue BroadcastTo(TensorValue v, int[] shape)
    {
        int offset = shape.Length - v.Rank;
        int[] inStrides = Strides(v.Shape);
        var strides = new int[shape.Length];
        for (int i = 0; i < v.Rank; i++)
        {
            strides[i + offset] = v.Shape[i] == 1 ? 0 : inStrides[i];
        }

        return TakeStrided(v, shape, strides, 0);
    }

    /// <summary>
    /// A value of <paramref name="shape"/> whose element at index (i0, i1, ...) is <paramref name="source"/>'s element at
    /// (sources[0][i0], sources[1][i1], ...), or <paramref name="fill"/>'s single value where any of those is -1.
    /// </summary>
    public static TensorValue Gather(TensorValue source, int[] shape, int[][] sources, TensorValue fill) => source.Type.Kind switch
    {
        DatumKind.Bool => Gather(source, shape, sources, fill.Items<bool>()[0]),
        DatumKind.U8 => Gather(source, shape, sources, fill.Items<byte>()[0]),
        DatumKind.I8 => Gather(source, shape, sources, fill.Items<sbyte>()[0]),
        DatumKind.I16 => Gather(source, shape, sources, fill.Items<short>()[0]),
        DatumKind.U16 => Gather(source, shape, sources, fill.Items<ushort>()[0]),
        DatumKind.I32 => Gather(source, shape, sources, fill.Items<int>()[0]),
        DatumKind.U32 => Gather(source, shape, sources, fill.Items<uint>()[0]),
        DatumKind.I64 or DatumKind.TDim => Gather(source, shape, sources, fill.Items<long>()[0]),
        DatumKind.U64 => Gather(source, shape, sources, fill.Items<ulong>()[0]),
        DatumKind.F16 => Gather(source, shape, sources, fill.Items<Half>()[0]),
        DatumKind.F32 => Gather(source, shape, sources, fill.Items<float>()[0]),
        DatumKind.F64 => Gather(source, shape, sources, fill.Items<double>()[0]),
        DatumKind.String => Gather(source, shape, sources, fill.Items<string>()[0]),
        _ => throw new UnsupportedFeatureException(null, null, $"cannot move the elements of a {source.Type} value"),
    };

    /// <summary>
    /// Copies the elements at <c>start + Σ index[i] · strides[i]</c> over <paramref name="shape"/>, row-major, into a new
    /// array, walking the offsets with an odometer (no index map is built, so large operands cost one copy).
    /// </summary>
    public static T[] StridedCopy<T>(T[] source, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, int start)
    {
        T[] result = Allocate<T>(TensorValue.Volume(shape));
        if (result.Length == 0)
        {
            return result;
        }

        int rank = shape.Length;
        if (rank == 0)
        {
            result[0] = source[start];
            return result;
        }

        int inner = shape[rank - 1];
        int innerStride = strides[rank - 1];
        Span<int> index = stackalloc int[rank];
        index.Clear();
        int pos = start;
        for (int o = 0; o < result.Length; o += inner)
        {
            if (innerStride == 1)
            {
                Array.Copy(source, pos, result, o, inner);
            }
            else
            {
                for (int j = 0, p = pos; j < inner; j++, p += innerStride)
                {
                    result[o + j] = source[p];
                }
            }

            for (int ax = rank - 2; ax >= 0; ax--)
            {
                index[ax]++;
                pos += strides[ax];
                if (index[ax] < shape[ax])
                {
                    break;
                }

                pos -= strides[ax] * index[ax];
                index[ax] = 0;
            }
        }

        return result;
    }

    /// <summary><see cref="StridedCopy{T}"/> on a value of any element kind.</summary>
    public static TensorValue TakeStrided(TensorValue source, int[] shape, ReadOnlySpan<int> strides, int start)
    {
        Array data = source.Type.Kind switch
        {
            DatumKind.Bool => StridedCopy(source.Items<bool>(), shape, strides, start),
            DatumKind.U8 => StridedCopy(source.Items<byte>(), shape, strides, start),
            DatumKind.I8 => StridedCopy(source.Items<sbyte>(), shape, strides, start),
            DatumKind.I16 => StridedCopy(source.Items<short>(), shape, strides, start),
            DatumKind.U16 => StridedCopy(source.Items<ushort>(), shape, strides, start),
            DatumKind.I32 => StridedCopy(source.Items<int>(), shape, strides, start),
            DatumKind.U32 => StridedCopy(source.Items<uint>(), shape, strides, start),
            DatumKind.I64 or DatumKind.TDim => StridedCopy(source.Items<long>(), shape, strides, start),
            DatumKind.U64 => StridedCopy(source.Items<ulong>(), shape, strides, start),
            DatumKind.F16 => StridedCopy(source.Items<Half>(), shape, strides, start),
            DatumKind.F32 => StridedCopy(source.Items<float>(), shape, strides, start),
            DatumKind.F64 => StridedCopy(source.Items<double>(), shape, strides, start),
            DatumKind.String => StridedCopy(source.Items<string>(), shape, strides, start),
            _ => throw new UnsupportedFeatureException(null, null, $"cannot move the elements of a {source.Type} value"),
        };
        return TensorValue.Wrap(source.Type, shape, data);
    }

    /// <summary>A new value whose element i is <c>source[indices[i]]</c> (the elements an operator selected, e.g. max pooling's).</summary>
    public static TensorValue Take(TensorValue source, int[] shape, int[] indices)
    {
        Array from = source.Data!;
        Array data = TensorValue.NewArray(source.Type.Kind, indices.Length);
        for (int i = 0; i < indices.Length; i++)
        {
            Array.Copy(from, indices[i], data, i, 1);
        }

        return TensorValue.Wrap(source.Type, shape, data);
    }

    /// <summary>Transposes: output axis i is input axis <paramref name="perm"/>[i].</summary>
    public static TensorValue Permute(TensorValue v, ReadOnlySpan<int> perm)
    {
        int rank = v.Rank;
        if (perm.Length != rank)
        {
            throw new InvalidGraphException(null, $"permutation of {perm.Length} axes for {v}");
        }

        int[] inStrides = Strides(v.Shape);
        var shape = new int[rank];
        var strides = new int[rank];
        var seen = new bool[rank];
        for (int i = 0; i < rank; i++)
        {
            int p = perm[i];
            if (p < 0 || p >= rank || seen[p])
            {
                throw new InvalidGraphException(null, $"[{string.Join(", ", perm.ToArray())}] is not a permutation of {rank} axes");
            }

            seen[p] = true;
            shape[i] = v.Shape[p];
            strides[i] = inStrides[p];
        }

        bool identity = true;
        for (int i = 0; i < rank; i++)
        {
            identity &= perm[i] == i;
        }

        if (identity)
        {
            return v;
        }

        return TakeStrided(v, shape, strides, 0);
    }

    /// <summary>
    /// Storage for a value every element of which the caller writes: pooled for the common numeric types
    /// (<see cref="TensorPool"/>), new otherwise.
    /// </summary>
    public static T[] Allocate<T>(int length)
    {
        if (typeof(T) == typeof(float))
        {
            return (T[])(object)TensorPool.Allocate<float>(length);
        }

        if (typeof(T) == typeof(Half))
        {
            return (T[])(object)TensorPool.Allocate<Half>(length);
        }

        if (typeof(T) == typeof(long))
        {
            return (T[])(object)TensorPool.Allocate<long>(length);
        }

        return new T[length];
    }

    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    private static TensorValue Gather<T>(TensorValue source, int[] shape, int[][] sources, T fill)
    {
        T[] from = source.Items<T>();
        var result = new T[TensorValue.Volume(shape)];
        int rank = shape.Length;
        if (result.Length == 0)
        {
            return TensorValue.Wrap(source.Type, shape, result);
        }

        if (rank == 0)
        {
            result[0] = from[0];
            return TensorValue.Wrap(source.Type, shape, result);
        }

        int[] strides = Strides(source.Shape);
        int inner = shape[rank - 1];
        int[] last = sources[rank - 1];
        Span<int> index = stackalloc int[rank];
        index.Clear();
        for (int o = 0; o < result.Length; o += inner)
        {
            int row = 0;
            bool inside = true;
            for (int ax = 0; ax < rank - 1; ax++)
            {
                int c = sources[ax][index[ax]];
                inside &= c >= 0;
                row += c * strides[ax];
            }

            for (int j = 0; j < inner; j++)
            {
                int c = last[j];
                result[o + j] = inside && c >= 0 ? from[row + c] : fill;
            }

            for (int ax = rank - 2; ax >= 0; ax--)
            {
                if (++index[ax] < shape[ax])
                {
                    break;
                }

                index[ax] = 0;
            }
        }

        return TensorValue.Wrap(source.Type, shape, result);
    }
}
