using System.Runtime.InteropServices;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Translation;

/// <summary>
/// A small constant the translator knows element by element: integers (and booleans, as 0/1) as dimensions, so that
/// shape arithmetic on symbolic dimensions (<c>Shape -> Gather -> Concat -> Reshape</c>) folds away, and floats as
/// doubles rounded to their ONNX type after each operation. Large constants (weights) are not held this way: they stay
/// lazy <see cref="TensorSource"/>s.
/// </summary>
internal sealed class Known
{
    /// <summary>Constants up to this many elements are read into memory for folding.</summary>
    public const int FoldLimit = 1 << 16;

    private Known(DType dtype, long[] shape, Dim[]? ints, double[]? reals)
    {
        DType = dtype;
        Shape = shape;
        Ints = ints;
        Reals = reals;
    }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Dimensions.</summary>
    public long[] Shape { get; }

    /// <summary>Elements of an integer or boolean constant (booleans as 0 and 1); null for floats.</summary>
    public Dim[]? Ints { get; }

    /// <summary>Elements of a float constant; null for integers and booleans.</summary>
    public double[]? Reals { get; }

    /// <summary>Number of elements.</summary>
    public int Count => Ints?.Length ?? Reals!.Length;

    /// <summary>Number of axes.</summary>
    public int Rank => Shape.Length;

    /// <summary>True for float element types.</summary>
    public bool IsReal => Reals is not null;

    /// <summary>True when every element is a number (no symbolic dimension).</summary>
    public bool IsConcrete => Reals is not null || Ints!.All(d => d.IsConstant);

    /// <summary>An integer (or boolean) constant.</summary>
    public static Known OfInts(DType dtype, long[] shape, Dim[] values)
    {
        Check(shape, values.Length);
        return new Known(dtype, shape, dtype == DType.Bool ? [.. values.Select(v => v.TryGetConstant(out long c) ? (Dim)(c != 0 ? 1 : 0) : v)] : values, null);
    }

    /// <summary>A float constant; values are rounded to <paramref name="dtype"/>.</summary>
    public static Known OfReals(DType dtype, long[] shape, double[] values)
    {
        Check(shape, values.Length);
        return new Known(dtype, shape, null, [.. values.Select(v => Round(dtype, v))]);
    }

    /// <summary>A constant of any element type from numbers (rounded or truncated to the type as a cast would).</summary>
    public static Known Of(DType dtype, long[] shape, IReadOnlyList<double> values) =>
        dtype.IsFloat()
            ? OfReals(dtype, shape, [.. values])
            : OfInts(dtype, shape, [.. values.Select(v => (Dim)(dtype == DType.Bool ? (v != 0 ? 1 : 0) : (long)v))]);

    /// <summary>A rank-1 i64 constant.</summary>
    public static Known Vector(IEnumerable<Dim> values)
    {
        Dim[] v = [.. values];
        return OfInts(DType.I64, [v.Length], v);
    }

    /// <summary>A rank-0 i64 constant.</summary>
    public static Known Scalar(Dim value) => OfInts(DType.I64, [], [value]);

    /// <summary>Reads a tensor's values (plain element types only).</summary>
    public static Known FromTensor(Tensor t)
    {
        long[] shape = t.Shape.Dims.ToArray();
        ReadOnlySpan<byte> b = t.Bytes;
        return t.DType switch
        {
            DType.F32 => OfReals(t.DType, shape, [.. MemoryMarshal.Cast<byte, float>(b).ToArray().Select(v => (double)v)]),
            DType.F64 => OfReals(t.DType, shape, MemoryMarshal.Cast<byte, double>(b).ToArray()),
            DType.F16 => OfReals(t.DType, shape, [.. MemoryMarshal.Cast<byte, Half>(b).ToArray().Select(v => (double)v)]),
            DType.BF16 => OfReals(DType.F32, shape, [.. MemoryMarshal.Cast<byte, ushort>(b).ToArray().Select(v => (double)BitConverter.Int32BitsToSingle(v << 16))]),
            DType.I64 => OfInts(t.DType, shape, [.. MemoryMarshal.Cast<byte, long>(b).ToArray().Select(v => (Dim)v)]),
            DType.I32 => OfInts(t.DType, shape, [.. MemoryMarshal.Cast<byte, int>(b).ToArray().Select(v => (Dim)v)]),
            DType.I16 => OfInts(t.DType, shape, [.. MemoryMarshal.Cast<byte, short>(b).ToArray().Select(v => (Dim)v)]),
            DType.I8 => OfInts(t.DType, shape, [.. MemoryMarshal.Cast<byte, sbyte>(b).ToArray().Select(v => (Dim)v)]),
            DType.U8 or DType.Bool => OfInts(t.DType, shape, [.. b.ToArray().Select(v => (Dim)v)]),
            DType.U16 => OfInts(t.DType, shape, [.. MemoryMarshal.Cast<byte, ushort>(b).ToArray().Select(v => (Dim)v)]),
            DType.U32 => OfInts(t.DType, shape, [.. MemoryMarshal.Cast<byte, uint>(b).ToArray().Select(v => (Dim)(long)v)]),
            DType.U64 => OfInts(t.DType, shape, [.. MemoryMarshal.Cast<byte, ulong>(b).ToArray().Select(v => (Dim)unchecked((long)v))]),
            _ => throw new NotSupportedException($"{t.DType.Name()} constants cannot be folded."),
        };
    }

    /// <summary>The values as doubles (symbolic integers are an error).</summary>
    public double[] ToDoubles() => Reals ?? [.. Ints!.Select(d => (double)Constant(d))];

    /// <summary>The values as integers (floats truncated toward zero; symbolic integers are an error).</summary>
    public long[] ToLongs() => Ints is not null ? [.. Ints.Select(Constant)] : [.. Reals!.Select(v => (long)v)];

    /// <summary>The values as dimensions (floats truncated).</summary>
    public Dim[] ToDims() => Ints ?? [.. Reals!.Select(v => (Dim)(long)v)];

    /// <summary>A tensor of these values (every element must be a number).</summary>
    public Tensor ToTensor()
    {
        var shape = new Tensors.Shape(Shape);
        byte[] bytes = DType switch
        {
            DType.F32 => Bytes(Reals!.Select(v => (float)v).ToArray()),
            DType.F64 => Bytes(Reals!),
            DType.F16 => Bytes(Reals!.Select(v => (Half)v).ToArray()),
            DType.I64 => Bytes(ToLongs()),
            DType.I32 => Bytes(ToLongs().Select(v => (int)v).ToArray()),
            DType.I16 => Bytes(ToLongs().Select(v => (short)v).ToArray()),
            DType.I8 => Bytes(ToLongs().Select(v => (sbyte)v).ToArray()),
            DType.U8 or DType.Bool => [.. ToLongs().Select(v => (byte)v)],
            DType.U16 => Bytes(ToLongs().Select(v => (ushort)v).ToArray()),
            DType.U32 => Bytes(ToLongs().Select(v => (uint)v).ToArray()),
            DType.U64 => Bytes(ToLongs().Select(v => unchecked((ulong)v)).ToArray()),
            _ => throw new NotSupportedException($"{DType.Name()} constants cannot be written."),
        };
        return new Tensor(DType, shape, OwnedTensorData.Wrap(bytes));
    }

    /// <summary>The same values under another shape of the same size.</summary>
    public Known Reshape(long[] shape) => Ints is not null ? OfInts(DType, shape, Ints) : new Known(DType, shape, null, Reals);

    /// <summary>Formats as <c>i64[2]{1, S}</c>.</summary>
    public override string ToString()
    {
        IEnumerable<string> items = Ints is not null ? Ints.Select(d => d.ToString()) : Reals!.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture));
        return $"{DType.Name()}[{string.Join(", ", Shape)}]{{{string.Join(", ", items.Take(8))}{(Count > 8 ? ", ..." : string.Empty)}}}";
    }

    /// <summary>Rounds a value to the precision of a float dtype.</summary>
    public static double Round(DType dtype, double v) => dtype switch
    {
        DType.F32 => (float)v,
        DType.F16 => (double)(Half)v,
        DType.BF16 => (double)(float)v,
        _ => v,
    };

    private static long Constant(Dim d) =>
        d.TryGetConstant(out long c) ? c : throw new InvalidOperationException($"'{d}' is symbolic, not a number.");

    private static byte[] Bytes<T>(T[] values)
        where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    private static void Check(long[] shape, int count)
    {
        long n = 1;
        foreach (long d in shape)
        {
            n *= d;
        }

        if (n != count)
        {
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] needs {n} values, got {count}.");
        }
    }
}
