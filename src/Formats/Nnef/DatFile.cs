using System.Buffers;
using TorchToNnef.Errors;
using TorchToNnef.IO;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Nnef;

/// <summary>Reads and writes whole NNEF <c>.dat</c> tensor files (header + payload).</summary>
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

    /// <summary>Writes the header and streams the payload of <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public static void Write(Stream destination, TensorSource source, bool quantizedStorage = false)
    {
        DatHeader header = DatHeader.For(source.DType, source.Shape, quantizedStorage);
        Span<byte> head = stackalloc byte[DatHeader.Size];
        header.WriteTo(head);
        destination.Write(head);
        if (header.IsBitPackedBool)
        {
            var packer = new PackedBoolStream(destination);
            source.WriteTo(packer);
            packer.Complete();
            return;
        }

        source.WriteTo(destination);
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
