namespace TorchToNnef.Tensors;

/// <summary>Facts about each <see cref="DType"/>: sizes, kinds and the names used by file formats.</summary>
public static class DTypeInfo
{
    /// <summary>Elements per block for block-quantized dtypes (Q4_0 groups of 32).</summary>
    public const int Q40BlockElements = 32;

    /// <summary>Bytes per Q4_0 block: an f16 scale and 16 bytes of nibbles.</summary>
    public const int Q40BlockBytes = 18;

    /// <summary>Size in bytes of one element, or 0 for block-quantized dtypes.</summary>
    public static int ElementSize(this DType dtype) => dtype switch
    {
        DType.F64 or DType.I64 or DType.U64 => 8,
        DType.F32 or DType.I32 or DType.U32 => 4,
        DType.F16 or DType.BF16 or DType.I16 or DType.U16 => 2,
        DType.I8 or DType.U8 or DType.Bool => 1,
        DType.Q40 => 0,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>True for Q4_0 blocks.</summary>
    public static bool IsBlockQuantized(this DType dtype) => dtype == DType.Q40;

    /// <summary>True for F64, F32, F16 and BF16.</summary>
    public static bool IsFloat(this DType dtype) => dtype is DType.F64 or DType.F32 or DType.F16 or DType.BF16;

    /// <summary>True for signed and unsigned integer dtypes (not bool).</summary>
    public static bool IsInteger(this DType dtype) =>
        dtype is DType.I8 or DType.U8 or DType.I16 or DType.U16 or DType.I32 or DType.U32 or DType.I64 or DType.U64;

    /// <summary>True for signed integer dtypes.</summary>
    public static bool IsSignedInteger(this DType dtype) => dtype is DType.I8 or DType.I16 or DType.I32 or DType.I64;

    /// <summary>
    /// Bytes needed for <paramref name="elementCount"/> elements, with overflow checked.
    /// For block dtypes the count must be a whole number of blocks.
    /// </summary>
    /// <exception cref="ArgumentException">The count is not a multiple of the block size.</exception>
    /// <exception cref="OverflowException">The byte size does not fit in 64 bits.</exception>
    public static long ByteSize(this DType dtype, long elementCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementCount);
        if (dtype.IsBlockQuantized())
        {
            if (elementCount % Q40BlockElements != 0)
            {
                throw new ArgumentException(
                    $"{elementCount} elements is not a whole number of {Q40BlockElements}-element Q4_0 blocks.",
                    nameof(elementCount));
            }

            return checked(elementCount / Q40BlockElements * Q40BlockBytes);
        }

        return checked(elementCount * dtype.ElementSize());
    }

    /// <summary>
    /// As <see cref="ByteSize"/> for a count read from a file: false instead of an exception when the count is not a
    /// whole number of blocks or the byte size does not fit in 64 bits, so a reader can name the file and tensor.
    /// </summary>
    public static bool TryByteSize(this DType dtype, long elementCount, out long byteSize)
    {
        byteSize = 0;
        if (elementCount < 0)
        {
            return false;
        }

        if (dtype.IsBlockQuantized())
        {
            if (elementCount % Q40BlockElements != 0)
            {
                return false;
            }

            byteSize = elementCount / Q40BlockElements * Q40BlockBytes;
            return true;
        }

        long elementSize = dtype.ElementSize();
        if (elementCount > long.MaxValue / elementSize)
        {
            return false;
        }

        byteSize = elementCount * elementSize;
        return true;
    }

    /// <summary>Short lower-case name as tract spells it (<c>f32</c>, <c>i64</c>, <c>bool</c>, <c>q40</c>).</summary>
    public static string Name(this DType dtype) => dtype switch
    {
        DType.F64 => "f64",
        DType.F32 => "f32",
        DType.F16 => "f16",
        DType.BF16 => "bf16",
        DType.I8 => "i8",
        DType.U8 => "u8",
        DType.I16 => "i16",
        DType.U16 => "u16",
        DType.I32 => "i32",
        DType.U32 => "u32",
        DType.I64 => "i64",
        DType.U64 => "u64",
        DType.Bool => "bool",
        DType.Q40 => "q40",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };

    /// <summary>Parses a name produced by <see cref="Name"/> (case-insensitive).</summary>
    public static bool TryParseName(string name, out DType dtype)
    {
        foreach (DType candidate in Enum.GetValues<DType>())
        {
            if (string.Equals(candidate.Name(), name, StringComparison.OrdinalIgnoreCase))
            {
                dtype = candidate;
                return true;
            }
        }

        dtype = default;
        return false;
    }
}
