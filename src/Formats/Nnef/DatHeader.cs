using System.Buffers.Binary;
using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Nnef;

/// <summary>
/// The 128-byte header of an NNEF <c>.dat</c> tensor file, as tract reads it and torch_to_nnef writes it:
/// magic <c>4E EF</c>, version 1.0, u32 payload size, u32 rank, u32 dims[8], u32 bits per item, u16 item type,
/// u16 vendor (0 = Khronos, 0x5452 "RT" = tract), then zeros.
/// </summary>
/// <param name="DType">Element type of the decoded tensor (U8/I8 for quantized storage, see <see cref="IsQuantizedStorage"/>;
/// <see cref="DType.Q40"/> for both Q4_0 encodings, see <see cref="IsLegacyQ40Order"/>).</param>
/// <param name="Shape">Tensor shape (for Q4_0 the logical, dequantized shape).</param>
/// <param name="DataSize">Payload byte count that follows the header.</param>
/// <param name="ItemType">Raw item type code.</param>
/// <param name="Vendor">Raw vendor code.</param>
/// <param name="BitsPerItem">Raw bits per item (<c>0xFFFFFFFF</c> for tract vendor types).</param>
public readonly record struct DatHeader(DType DType, Shape Shape, long DataSize, ushort ItemType, ushort Vendor, uint BitsPerItem)
{
    /// <summary>Header size in bytes.</summary>
    public const int Size = 128;

    /// <summary>Khronos vendor code.</summary>
    public const ushort KhronosVendor = 0;

    /// <summary>tract vendor code (bytes <c>52 54</c>).</summary>
    public const ushort TractVendor = 0x5452;

    /// <summary>Khronos float item type.</summary>
    public const ushort FloatItem = 0;

    /// <summary>Khronos unsigned integer item type.</summary>
    public const ushort UnsignedItem = 1;

    /// <summary>Khronos quantized unsigned item type (u8 codes whose parameters live in graph.quant).</summary>
    public const ushort QuantizedUnsignedItem = 2;

    /// <summary>Khronos quantized signed item type (i8 codes whose parameters live in graph.quant).</summary>
    public const ushort QuantizedSignedItem = 3;

    /// <summary>Khronos signed integer item type.</summary>
    public const ushort SignedItem = 4;

    /// <summary>Khronos boolean item type.</summary>
    public const ushort BoolItem = 5;

    /// <summary>tract Q4_0, GGML nibble order (tract &gt;= 0.21.11).</summary>
    public const ushort Q40Item = 0x3040;

    /// <summary>tract Q4_0, legacy nibble order (tract &lt;= 0.21.10).</summary>
    public const ushort Q40LegacyItem = 0x2040;

    /// <summary>
    /// True for Q4_0 stored in the legacy nibble order (item 0x2040): the payload is converted to the in-memory GGML
    /// order when read and from it when written.
    /// </summary>
    public bool IsLegacyQ40Order => Vendor == TractVendor && ItemType == Q40LegacyItem;

    /// <summary>True for item types 2/3: integer codes re-typed by a <c>graph.quant</c> entry.</summary>
    public bool IsQuantizedStorage => Vendor == KhronosVendor && ItemType is QuantizedUnsignedItem or QuantizedSignedItem;

    /// <summary>True for booleans stored one bit per value (MSB first), as the Khronos tools write them.</summary>
    public bool IsBitPackedBool => Vendor == KhronosVendor && ItemType == BoolItem && BitsPerItem == 1;

    /// <summary>
    /// Builds the header for a tensor. Floats use item 0, integers 1 (unsigned) or 4 (signed), or 2/3 when
    /// <paramref name="quantizedStorage"/> is set for u8/i8; bool is written one bit per value like the Khronos
    /// tools (or one byte per value when <paramref name="boolAsBytes"/>); Q4_0 uses tract's vendor types, the legacy
    /// nibble order (item 0x2040, what tract &lt;= 0.21.10 reads) when <paramref name="legacyQ40Order"/>.
    /// </summary>
    /// <exception cref="UnsupportedFeatureException">bf16 (no NNEF item type) or a payload over 4 GiB.</exception>
    public static DatHeader For(DType dtype, Shape shape, bool quantizedStorage = false, bool boolAsBytes = false, bool legacyQ40Order = false)
    {
        long n = shape.ElementCount;
        (ushort item, ushort vendor, uint bits, long size) = dtype switch
        {
            DType.F16 or DType.F32 or DType.F64 => (FloatItem, KhronosVendor, (uint)dtype.ElementSize() * 8, dtype.ByteSize(n)),
            DType.U8 when quantizedStorage => (QuantizedUnsignedItem, KhronosVendor, 8u, n),
            DType.I8 when quantizedStorage => (QuantizedSignedItem, KhronosVendor, 8u, n),
            DType.U8 or DType.U16 or DType.U32 or DType.U64 => (UnsignedItem, KhronosVendor, (uint)dtype.ElementSize() * 8, dtype.ByteSize(n)),
            DType.I8 or DType.I16 or DType.I32 or DType.I64 => (SignedItem, KhronosVendor, (uint)dtype.ElementSize() * 8, dtype.ByteSize(n)),
            DType.Bool when boolAsBytes => (BoolItem, KhronosVendor, 8u, n),
            DType.Bool => (BoolItem, KhronosVendor, 1u, (n + 7) / 8),
            DType.Q40 => (legacyQ40Order ? Q40LegacyItem : Q40Item, TractVendor, uint.MaxValue, dtype.ByteSize(n)),
            _ => throw new UnsupportedFeatureException(null, null, $"{dtype.Name()} tensors have no NNEF .dat item type; convert them to f16/f32 or quantize them first"),
        };
        if (size > uint.MaxValue)
        {
            throw new UnsupportedFeatureException(null, null, $"a .dat payload is limited to 4 GiB; {dtype.Name()}{shape} needs {size} bytes");
        }

        foreach (long d in shape.Dims)
        {
            if (d > uint.MaxValue)
            {
                throw new UnsupportedFeatureException(null, null, $"dimension {d} does not fit a .dat header");
            }
        }

        return new DatHeader(dtype, shape, size, item, vendor, bits);
    }

    /// <summary>Writes the 128 header bytes.</summary>
    public void WriteTo(Span<byte> destination)
    {
        destination = destination[..Size];
        destination.Clear();
        destination[0] = 0x4E;
        destination[1] = 0xEF;
        destination[2] = 1;
        destination[3] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], (uint)DataSize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], (uint)Shape.Rank);
        for (int i = 0; i < Shape.Rank; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[(12 + (4 * i))..], (uint)Shape[i]);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination[44..], BitsPerItem);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[48..], ItemType);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[50..], Vendor);
    }

    /// <summary>
    /// Parses and validates a header with tract's rules: magic, version, rank &lt;= 8, a known (vendor, item, bits)
    /// combination, and a payload size consistent with the shape.
    /// </summary>
    /// <param name="header">At least 128 bytes.</param>
    /// <param name="file">File name for error messages.</param>
    /// <param name="tensor">Tensor label for error messages.</param>
    /// <exception cref="InvalidInputFileException">Any inconsistency.</exception>
    /// <exception cref="UnsupportedFeatureException">A valid but unsupported item type (strings, complex, Q8_1).</exception>
    public static DatHeader Parse(ReadOnlySpan<byte> header, string? file, string? tensor)
    {
        if (header.Length < Size)
        {
            throw Bad(file, tensor, $"truncated header: {header.Length} of {Size} bytes");
        }

        if (header[0] != 0x4E || header[1] != 0xEF)
        {
            throw Bad(file, tensor, $"bad magic {header[0]:X2} {header[1]:X2} (expected 4E EF)");
        }

        if (header[2] != 1 && header[3] != 0)
        {
            throw Bad(file, tensor, $"unsupported version {header[2]}.{header[3]}");
        }

        uint dataSize = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        uint rank = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (rank > Shape.MaxRank)
        {
            throw Bad(file, tensor, $"rank {rank} exceeds {Shape.MaxRank}");
        }

        Span<long> dims = stackalloc long[(int)rank];
        for (int i = 0; i < rank; i++)
        {
            dims[i] = BinaryPrimitives.ReadUInt32LittleEndian(header[(12 + (4 * i))..]);
        }

        if (!Shape.TryCreate(dims, out Shape shape, out string? shapeError))
        {
            throw Bad(file, tensor, $"bad shape: {shapeError}");
        }

        uint bits = BinaryPrimitives.ReadUInt32LittleEndian(header[44..]);
        ushort item = BinaryPrimitives.ReadUInt16LittleEndian(header[48..]);
        ushort vendor = BinaryPrimitives.ReadUInt16LittleEndian(header[50..]);
        long n = shape.ElementCount;

        DType dtype;
        long expected;
        if (vendor == TractVendor)
        {
            if (item is Q40Item or Q40LegacyItem)
            {
                if (bits != uint.MaxValue)
                {
                    throw Bad(file, tensor, $"Q4_0 item type needs bits_per_item 0xFFFFFFFF, got {bits}");
                }

                if (shape.Rank < 2 || shape.VolumeFrom(1) % DTypeInfo.Q40BlockElements != 0)
                {
                    throw Bad(file, tensor, $"Q4_0 tensor of shape {shape} must have rank >= 2 and rows that are a multiple of 32");
                }

                dtype = DType.Q40;
                expected = dtype.ByteSize(n);
            }
            else
            {
                throw new UnsupportedFeatureException(file, tensor, $"tract item type 0x{item:X4} is not supported");
            }
        }
        else if (vendor == KhronosVendor)
        {
            dtype = (item, bits) switch
            {
                (FloatItem, 16) => DType.F16,
                (FloatItem, 32) => DType.F32,
                (FloatItem, 64) => DType.F64,
                (UnsignedItem or QuantizedUnsignedItem, 8) => DType.U8,
                (UnsignedItem, 16) => DType.U16,
                (UnsignedItem, 32) => DType.U32,
                (UnsignedItem, 64) => DType.U64,
                (SignedItem or QuantizedSignedItem, 8) => DType.I8,
                (SignedItem, 16) => DType.I16,
                (SignedItem, 32) => DType.I32,
                (SignedItem, 64) => DType.I64,
                (BoolItem, 1 or 8) => DType.Bool,
                _ => throw Bad(file, tensor, $"unsupported item type {item} with {bits} bits per item"),
            };

            // Bit-packed booleans take one bit each; every other item type is whole bytes, whose product with the
            // element count is checked so that a huge shape cannot wrap round to the declared size.
            if (bits == 1)
            {
                expected = (n / 8) + (n % 8 == 0 ? 0 : 1);
            }
            else if (!dtype.TryByteSize(n, out expected))
            {
                throw Bad(file, tensor, $"{dtype.Name()}{shape} needs more than 2^63 bytes");
            }
        }
        else
        {
            throw Bad(file, tensor, $"unknown vendor 0x{vendor:X4}");
        }

        if (dataSize != expected)
        {
            throw Bad(file, tensor, $"payload size {dataSize} does not match {dtype.Name()}{shape} ({expected} bytes)");
        }

        return new DatHeader(dtype, shape, dataSize, item, vendor, bits);
    }

    private static InvalidInputFileException Bad(string? file, string? tensor, string what) => new(file, tensor, what);
}
