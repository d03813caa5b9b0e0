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

    /// <summary>numpy broadcasting of equal-rank shapes: every axis equal or 1.</summary>
    public static int[] BroadcastShape(params int[][] shapes)
    {
        int rank = shapes.Max(s => s.Length);
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
                        throw new InvalidGraphException(null, $"shapes {string.Join(" and ", shapes.Select(s => Format(s)))} do not broadcast");
                    }

                    d = x;
                }
            }

            result[i] = d;
        }

        return result;
    }

    /// <summary>For each element of <paramref name="outShape"/>, the linear index of the element it reads in <paramref name="inShape"/>.</summary>
    public static int[] BroadcastMap(ReadOnlySpan<int> inShape, int[] outShape)
    {
        int volume = TensorValue.Volume(outShape);
        var map = new int[volume];
        if (inShape.SequenceEqual(outShape))
        {
            for (int i = 0; i < volume; i++)
            {
                map[i] = i;
            }

            return map;
        }

        int rank = outShape.Length;
        int offset = rank - inShape.Length;
        int[] inStrides = Strides(inShape);
        var strides = new int[rank];
        for (int i = 0; i < inShape.Length; i++)
        {
            strides[i + offset] = inShape[i] == 1 ? 0 : inStrides[i];
        }

        FillMap(map, outShape, strides, 0);
        return map;
    }

    /// <summary>Fills <paramref name="map"/> with the offsets <c>start + Σ index[i] · strides[i]</c> over <paramref name="outShape"/>, row-major.</summary>
    public static void FillMap(int[] map, ReadOnlySpan<int> outShape, ReadOnlySpan<int> strides, int start)
    {
        int rank = outShape.Length;
        if (map.Length == 0)
        {
            return;
        }

        Span<int> index = stackalloc int[Math.Max(rank, 1)];
        index.Clear();
        int pos = start;
        for (int i = 0; i < map.Length; i++)
        {
            map[i] = pos;
            for (int ax = rank - 1; ax >= 0; ax--)
            {
                index[ax]++;
                pos += strides[ax];
                if (index[ax] < outShape[ax])
                {
                    break;
                }

                pos -= strides[ax] * index[ax];
                index[ax] = 0;
            }
        }
    }

    /// <summary>
    /// Copies the elements at <c>start + Σ index[i] · strides[i]</c> over <paramref name="shape"/>, row-major, into a new
    /// array, walking the offsets with an odometer (no index map is built, so large operands cost one copy).
    /// </summary>
    public static T[] StridedCopy<T>(T[] source, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, int start)
    {
        var result = new T[TensorValue.Volume(shape)];
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

    /// <summary>A new value whose element i is <c>source[map[i]]</c>.</summary>
    public static TensorValue Take(TensorValue source, int[] shape, int[] map)
    {
        Array data = source.Type.Kind switch
        {
            DatumKind.Bool => Take(source.Items<bool>(), map),
            DatumKind.U8 => Take(source.Items<byte>(), map),
            DatumKind.I8 => Take(source.Items<sbyte>(), map),
            DatumKind.I16 => Take(source.Items<short>(), map),
            DatumKind.U16 => Take(source.Items<ushort>(), map),
            DatumKind.I32 => Take(source.Items<int>(), map),
            DatumKind.U32 => Take(source.Items<uint>(), map),
            DatumKind.I64 or DatumKind.TDim => Take(source.Items<long>(), map),
            DatumKind.U64 => Take(source.Items<ulong>(), map),
            DatumKind.F16 => Take(source.Items<Half>(), map),
            DatumKind.F32 => Take(source.Items<float>(), map),
            DatumKind.F64 => Take(source.Items<double>(), map),
            DatumKind.String => Take(source.Items<string>(), map),
            _ => throw new UnsupportedFeatureException(null, null, $"cannot move the elements of a {source.Type} value"),
        };
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

    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    private static T[] Take<T>(T[] source, int[] map)
    {
        var result = new T[map.Length];
        for (int i = 0; i < map.Length; i++)
        {
            result[i] = source[map[i]];
        }

        return result;
    }
}
