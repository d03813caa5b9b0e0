using TorchToNnef.Errors;
using TorchToNnef.IO;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Numpy;

/// <summary>
/// Reads and writes <c>.npy</c> arrays: little-endian, C order, the numeric and bool dtypes (see
/// <see cref="NpyDTypes"/>). Reading validates the header and the payload size before trusting either; writing
/// produces the same bytes numpy does (format 1.0, 64-byte aligned header).
/// </summary>
public static class NpyFile
{
    // Unseekable streams (deflated zip entries) cannot tell how much data remains, so the payload buffer grows as
    // bytes actually arrive instead of trusting the header's size up front.
    private const int InitialUnseekableBuffer = 1 << 20;

    /// <summary>Reads one array from <paramref name="stream"/> into an owned tensor.</summary>
    /// <param name="stream">Positioned at the magic.</param>
    /// <param name="file">File name for error messages.</param>
    /// <param name="tensor">Tensor (npz entry) name for error messages.</param>
    /// <param name="requireEnd">When true, any byte after the payload is an error.</param>
    /// <exception cref="InvalidInputFileException">Malformed header, truncated payload or trailing bytes.</exception>
    /// <exception cref="UnsupportedFeatureException">A dtype, byte order, Fortran order or version we do not read.</exception>
    public static Tensor Read(Stream stream, string? file, string? tensor = null, bool requireEnd = true)
    {
        (DType dtype, Shape shape) = NpyHeader.Read(stream, file, tensor);
        long size = dtype.ByteSize(shape.ElementCount);
        if (size > Array.MaxLength)
        {
            throw new UnsupportedFeatureException(file, tensor, $"{size}-byte array is larger than one in-memory tensor can hold");
        }

        TensorData data = ReadPayload(stream, (int)size, file, tensor);
        try
        {
            if (requireEnd && stream.ReadByte() >= 0)
            {
                throw new InvalidInputFileException(file, tensor, $"unexpected bytes after the {size}-byte payload");
            }

            return new Tensor(dtype, shape, data);
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    /// <summary>Reads a <c>.npy</c> file.</summary>
    public static Tensor Read(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Writes <paramref name="tensor"/> as a <c>.npy</c> array (header, then the payload streamed in windows).</summary>
    /// <exception cref="UnsupportedFeatureException">bf16 or block-quantized tensors, which numpy cannot represent.</exception>
    public static void Write(Stream stream, Tensor tensor)
    {
        if (!NpyDTypes.TryGetDescr(tensor.DType, out string descr))
        {
            throw new UnsupportedFeatureException(null, null,
                $"{tensor.DType.Name()} has no numpy dtype; convert the tensor (e.g. to f32) before writing .npy");
        }

        stream.Write(NpyHeader.Format(descr, tensor.Shape));
        TensorSource.FromTensor(tensor).WriteTo(stream);
    }

    /// <summary>Writes a <c>.npy</c> file atomically.</summary>
    public static void Write(string path, Tensor tensor) => AtomicFile.Write(path, s => Write(s, tensor));

    private static TensorData ReadPayload(Stream stream, int size, string? file, string? tensor)
    {
        if (stream.CanSeek && stream.Length - stream.Position < size)
        {
            throw new InvalidInputFileException(file, tensor,
                $"truncated payload: header needs {size} bytes, {stream.Length - stream.Position} remain");
        }

        if (stream.CanSeek || size <= InitialUnseekableBuffer)
        {
            OwnedTensorData owned = OwnedTensorData.Allocate(size, clear: false);
            int n = stream.ReadAtLeast(owned.Span, size, throwOnEndOfStream: false);
            if (n < size)
            {
                owned.Dispose();
                throw Truncated(file, tensor, size, n);
            }

            return owned;
        }

        byte[] buffer = new byte[InitialUnseekableBuffer];
        int filled = 0;
        while (true)
        {
            filled += stream.ReadAtLeast(buffer.AsSpan(filled), buffer.Length - filled, throwOnEndOfStream: false);
            if (filled < buffer.Length)
            {
                throw Truncated(file, tensor, size, filled);
            }

            if (filled == size)
            {
                return OwnedTensorData.Wrap(buffer);
            }

            Array.Resize(ref buffer, (int)Math.Min(size, 2L * buffer.Length));
        }
    }

    private static InvalidInputFileException Truncated(string? file, string? tensor, int size, int got) =>
        new(file, tensor, $"truncated payload: {got} of {size} bytes");
}
