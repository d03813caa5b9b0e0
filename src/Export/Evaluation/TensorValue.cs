using System.Runtime.InteropServices;
using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// A tensor as the evaluator holds it: a <see cref="DatumType"/>, a concrete shape and a managed array of the storage
/// type (<c>bool[]</c>, <c>byte[]</c>, <c>sbyte[]</c>, <c>short[]</c>, <c>ushort[]</c>, <c>int[]</c>, <c>uint[]</c>,
/// <c>long[]</c> for i64 and TDim, <c>ulong[]</c>, <c>Half[]</c>, <c>float[]</c>, <c>double[]</c>, <c>string[]</c>),
/// or, for a Q4_0 constant, its raw blocks and logical shape. Values are immutable once built: operators always
/// produce new arrays, and views (reshape, retype) share the storage.
/// </summary>
public sealed class TensorValue
{
    private TensorValue(DatumType type, int[] shape, Array? data, BlockQuantData? blockQuant)
    {
        Type = type;
        ShapeArray = shape;
        Data = data;
        BlockQuant = blockQuant;
    }

    /// <summary>Element type.</summary>
    public DatumType Type { get; }

    /// <summary>Dimensions, outermost first.</summary>
    public ReadOnlySpan<int> Shape => ShapeArray;

    /// <summary>Number of dimensions.</summary>
    public int Rank => ShapeArray.Length;

    /// <summary>Number of elements (1 for rank 0).</summary>
    public int ElementCount => Volume(ShapeArray);

    /// <summary>The Q4_0 payload of a block-quantized constant; null otherwise.</summary>
    public BlockQuantData? BlockQuant { get; }

    internal int[] ShapeArray { get; }

    internal Array? Data { get; }

    /// <summary>Builds a value over <paramref name="data"/> (not copied), checking the array type and length.</summary>
    /// <exception cref="ArgumentException">The array does not match the type's storage or the shape.</exception>
    public static TensorValue Create<T>(DatumType type, ReadOnlySpan<int> shape, T[] data)
    {
        if (StorageType(type.Kind) != typeof(T))
        {
            throw new ArgumentException($"{type} values are stored as {StorageType(type.Kind).Name}[], not {typeof(T).Name}[].", nameof(data));
        }

        int[] dims = shape.ToArray();
        if (data.Length != Volume(dims))
        {
            throw new ArgumentException($"Shape [{string.Join(", ", dims)}] needs {Volume(dims)} values, got {data.Length}.", nameof(data));
        }

        return new TensorValue(type, dims, data, null);
    }

    /// <summary>An f32 tensor.</summary>
    public static TensorValue F32(ReadOnlySpan<int> shape, float[] data) => Create(DatumType.F32, shape, data);

    /// <summary>A rank-0 f32 tensor.</summary>
    public static TensorValue ScalarF32(float value) => Create(DatumType.F32, [], new[] { value });

    /// <summary>A rank-0 TDim tensor.</summary>
    public static TensorValue ScalarTDim(long value) => Create(DatumType.TDim, [], new[] { value });

    /// <summary>A Q4_0 constant with its logical shape.</summary>
    public static TensorValue FromBlockQuant(BlockQuantData data, ReadOnlySpan<int> logicalShape) =>
        new(DatumType.BlockQuant, logicalShape.ToArray(), null, data);

    /// <summary>A zero-filled (false, empty string) tensor.</summary>
    public static TensorValue Zeros(DatumType type, ReadOnlySpan<int> shape)
    {
        int[] dims = shape.ToArray();
        Array data = NewArray(type.Kind, Volume(dims));
        if (data is string[] s)
        {
            Array.Fill(s, string.Empty);
        }

        return new TensorValue(type, dims, data, null);
    }

    /// <summary>Copies a Core tensor (element dtypes) or wraps a Q4_0 tensor's blocks.</summary>
    /// <exception cref="UnsupportedFeatureException">bf16, which tract cannot hold.</exception>
    public static TensorValue FromTensor(Tensor tensor, string? name = null)
    {
        int[] dims = ToIntShape(tensor.Shape.Dims, name);
        if (tensor.DType.IsBlockQuantized())
        {
            return FromBlockQuant(new BlockQuantData(tensor.Bytes.ToArray()), dims);
        }

        if (tensor.DType == DType.BF16)
        {
            throw new UnsupportedFeatureException(null, name, "bf16 tensors have no tract datum type; convert them to f16 or f32");
        }

        DatumType type = DatumType.FromDType(tensor.DType);
        Array data = NewArray(type.Kind, Volume(dims));
        if (data is bool[] flags)
        {
            ReadOnlySpan<byte> bytes = tensor.Bytes;
            for (int i = 0; i < flags.Length; i++)
            {
                flags[i] = bytes[i] != 0;
            }
        }
        else
        {
            // A positional read into the array: a file-backed payload (an archive member) is neither mapped nor copied aside.
            tensor.Data.Read(0, AsBytes(data));
        }

        return new TensorValue(type, dims, data, null);
    }

    /// <summary>Copies the raw values into a Core tensor (TDim as i64, quantized types as their integers).</summary>
    /// <exception cref="NotSupportedException">String or block-quantized values.</exception>
    public Tensor ToTensor()
    {
        DType dtype = Type.ToStorageDType();
        var shape = new Shape(Array.ConvertAll(ShapeArray, d => (long)d));
        OwnedTensorData owned = OwnedTensorData.Allocate(dtype.ByteSize(shape.ElementCount));
        Span<byte> dst = owned.Span;
        if (Data is bool[] flags)
        {
            for (int i = 0; i < flags.Length; i++)
            {
                dst[i] = flags[i] ? (byte)1 : (byte)0;
            }
        }
        else
        {
            AsBytes(Data!).CopyTo(dst);
        }

        return new Tensor(dtype, shape, owned);
    }

    /// <summary>The elements as <typeparamref name="T"/> (the storage type of <see cref="Type"/>).</summary>
    /// <exception cref="InvalidCastException"><typeparamref name="T"/> is not the storage type.</exception>
    public ReadOnlySpan<T> Span<T>() => (T[])Data!;

    /// <summary>Elements converted to f32 (quantized values dequantized, TDim and integers rounded to nearest).</summary>
    public float[] ToFloats() => Cast.To(this, DatumType.F32).Items<float>();

    /// <summary>Formats as <c>F32[1, 3]</c>.</summary>
    public override string ToString() => $"{Type}[{string.Join(", ", ShapeArray)}]";

    internal T[] Items<T>() => (T[])Data!;

    internal static TensorValue Wrap(DatumType type, int[] shape, Array data) => new(type, shape, data, null);

    /// <summary>Same storage, other shape of the same volume (or same logical Q4_0 blocks).</summary>
    internal TensorValue WithShape(int[] shape) =>
        Volume(shape) == ElementCount
            ? new TensorValue(Type, shape, Data, BlockQuant)
            : throw new InvalidOperationException($"Cannot view {this} as [{string.Join(", ", shape)}].");

    /// <summary>Same storage, other type of the same storage kind (quantization re-typing).</summary>
    internal TensorValue WithType(DatumType type) =>
        StorageType(type.Kind) == StorageType(Type.Kind) ? new TensorValue(type, ShapeArray, Data, BlockQuant) : throw new InvalidOperationException($"Cannot retype {this} as {type}.");

    /// <summary>A zeroed storage array for <paramref name="length"/> elements of <paramref name="kind"/>.</summary>
    internal static Array NewArray(DatumKind kind, int length) => kind switch
    {
        DatumKind.Bool => new bool[length],
        DatumKind.U8 => new byte[length],
        DatumKind.U16 => new ushort[length],
        DatumKind.U32 => new uint[length],
        DatumKind.U64 => new ulong[length],
        DatumKind.I8 => new sbyte[length],
        DatumKind.I16 => new short[length],
        DatumKind.I32 => new int[length],
        DatumKind.I64 or DatumKind.TDim => new long[length],
        DatumKind.F16 => new Half[length],
        DatumKind.F32 => new float[length],
        DatumKind.F64 => new double[length],
        DatumKind.String => new string[length],
        _ => throw new NotSupportedException($"{kind} has no element storage."),
    };

    internal static Type StorageType(DatumKind kind) => kind switch
    {
        DatumKind.Bool => typeof(bool),
        DatumKind.U8 => typeof(byte),
        DatumKind.U16 => typeof(ushort),
        DatumKind.U32 => typeof(uint),
        DatumKind.U64 => typeof(ulong),
        DatumKind.I8 => typeof(sbyte),
        DatumKind.I16 => typeof(short),
        DatumKind.I32 => typeof(int),
        DatumKind.I64 or DatumKind.TDim => typeof(long),
        DatumKind.F16 => typeof(Half),
        DatumKind.F32 => typeof(float),
        DatumKind.F64 => typeof(double),
        DatumKind.String => typeof(string),
        _ => throw new NotSupportedException($"{kind} has no element storage."),
    };

    internal static int Volume(ReadOnlySpan<int> shape)
    {
        long v = 1;
        foreach (int d in shape)
        {
            v *= d;
            if (v > Array.MaxLength)
            {
                throw new UnsupportedFeatureException(null, null, $"a tensor of shape [{string.Join(", ", shape.ToArray())}] exceeds the evaluator's {Array.MaxLength}-element limit");
            }
        }

        return (int)v;
    }

    internal static int[] ToIntShape(ReadOnlySpan<long> dims, string? name)
    {
        var result = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] < 0 || dims[i] > Array.MaxLength)
            {
                throw new UnsupportedFeatureException(null, name, $"dimension {dims[i]} is outside what the evaluator can hold");
            }

            result[i] = (int)dims[i];
        }

        _ = Volume(result);
        return result;
    }

    /// <summary>The bytes of a primitive array held by a value (or handed out by the pool).</summary>
    internal static Span<byte> AsBytes(Array data) => data switch
    {
        byte[] a => a,
        sbyte[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        short[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        ushort[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        int[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        uint[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        long[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        ulong[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        Half[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        float[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        double[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        _ => throw new NotSupportedException($"{data.GetType().Name} has no byte view."),
    };
}
