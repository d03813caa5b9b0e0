using System.Buffers;
using TorchToNnef.Errors;
using TorchToNnef.IO;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Nnef;

/// <summary>
/// Reads and writes whole NNEF <c>.dat</c> tensor files (header + payload); every <c>.dat</c> the library writes goes
/// through <see cref="Write(Stream, TensorSource, DatHeader)"/>. Payloads are encoded as the header says while they
/// stream: booleans bit-packed, Q4_0 blocks re-ordered for the legacy item type; on reading, both are decoded back
/// (one byte per boolean, Q4_0 in the GGML order of <see cref="DType.Q40"/>).
/// </summary>
public static class DatFile
{
    /// <summary>
    /// Reads a tensor from a stream positioned at the header; the payload is read into an owned buffer and must be
    /// followed by nothing else when <paramref name="requireEnd"/> is set. The size the header declares is checked
    /// against what a seekable stream holds before anything is allocated (an unseekable one is read as it delivers).
    /// Bit-packed booleans are expanded to one byte per value.
    /// </summary>
    /// <exception cref="InvalidInputFileException">Malformed header, truncated payload or trailing bytes.</exception>
    public static Tensor Read(Stream stream, string? file, string? tensor, bool requireEnd = true)
    {
        Span<byte> head = stackalloc byte[DatHeader.Size];
        int got = stream.ReadAtLeast(head, DatHeader.Size, throwOnEndOfStream: false);
        DatHeader header = DatHeader.Parse(head[..got], file, tensor);
        OwnedTensorData payload = PayloadReader.Read(stream, header.DataSize, file, tensor);
        try
        {
            if (requireEnd && stream.ReadByte() >= 0)
            {
                throw new InvalidInputFileException(file, tensor, $"unexpected bytes after the {header.DataSize}-byte payload");
            }

            if (header.IsBitPackedBool)
            {
                OwnedTensorData bytes = UnpackBits(payload.Span, header.Shape.ElementCount);
                payload.Dispose();
                return new Tensor(DType.Bool, header.Shape, bytes);
            }

            if (header.IsLegacyQ40Order)
            {
                Q40LegacyOrder.ToGgml(payload.Span);
            }

            return new Tensor(header.DType, header.Shape, payload);
        }
        catch
        {
            payload.Dispose();
            throw;
        }
    }

    /// <summary>Reads a <c>.dat</c> file from disk.</summary>
    public static Tensor Read(string path, string? tensor = null)
    {
        using FileStream fs = InputFile.OpenRead(path);
        return Read(fs, path, tensor);
    }

    /// <summary>
    /// Writes a <c>.dat</c> for <paramref name="source"/> with the default header for its dtype and shape (Q4_0 in
    /// the GGML order, booleans bit-packed); see <see cref="Write(Stream, TensorSource, DatHeader)"/>.
    /// </summary>
    public static void Write(Stream destination, TensorSource source) =>
        Write(destination, source, DatHeader.For(source.DType, source.Shape));

    /// <summary>
    /// Writes <paramref name="header"/>, then streams the payload of <paramref name="source"/> as the header stores
    /// it: bit-packed booleans, legacy-order Q4_0, or the bytes as they are; and checks that exactly
    /// <see cref="DatHeader.DataSize"/> payload bytes were produced.
    /// </summary>
    /// <exception cref="ArgumentException">The header is not for the source's dtype and shape.</exception>
    /// <exception cref="InvalidDataException">The source produced another number of bytes than the header declares.</exception>
    public static void Write(Stream destination, TensorSource source, DatHeader header)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(source);
        Span<byte> head = stackalloc byte[DatHeader.Size];
        header.WriteTo(head);
        destination.Write(head);
        if (header.DType != source.DType || header.Shape != source.Shape)
        {
            throw new ArgumentException($"A .dat header for {header.DType.Name()}{header.Shape} cannot store a {source.DType.Name()}{source.Shape} tensor.", nameof(header));
        }

        var counted = new CountingStream(destination);
        if (header.IsBitPackedBool)
        {
            var packer = new PackedBoolStream(counted);
            source.WriteTo(packer);
            packer.Complete();
        }
        else if (header.IsLegacyQ40Order)
        {
            var legacy = new Q40LegacyOrder.ConvertingStream(counted, toLegacy: true);
            source.WriteTo(legacy);
            legacy.Complete();
        }
        else
        {
            source.WriteTo(counted);
        }

        if (counted.Count != header.DataSize)
        {
            throw new InvalidDataException($"the tensor source produced {counted.Count} payload bytes, expected {header.DataSize}");
        }
    }

    /// <summary>Expands MSB-first packed bits (bit i = bit 7 - i%8 of byte i/8) to one byte per value.</summary>
    public static OwnedTensorData UnpackBits(ReadOnlySpan<byte> packed, long count)
    {
        OwnedTensorData data = OwnedTensorData.Allocate(count, clear: false);
        Span<byte> dst = data.Span;
        for (int i = 0; i < dst.Length; i++)
        {
            dst[i] = (byte)((packed[i >> 3] >> (7 - (i & 7))) & 1);
        }

        return data;
    }

    /// <summary>Packs one-byte booleans (non-zero = true) MSB first.</summary>
    public static byte[] PackBits(ReadOnlySpan<byte> values)
    {
        var packed = new byte[(values.Length + 7) / 8];
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] != 0)
            {
                packed[i >> 3] |= (byte)(0x80 >> (i & 7));
            }
        }

        return packed;
    }
}
