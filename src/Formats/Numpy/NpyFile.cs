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
    /// <summary>Reads one array from <paramref name="stream"/> into an owned tensor.</summary>
    /// <param name="stream">Positioned at the magic.</param>
    /// <param name="file">File name for error messages.</param>
    /// <param name="tensor">Tensor (npz entry) name for error messages.</param>
    /// <param name="requireEnd">When true, any byte after the payload is an error.</param>
    /// <exception cref="InvalidInputFileException">Malformed header, truncated payload or trailing bytes.</exception>
    /// <exception cref="UnsupportedFeatureException">A dtype, byte order, Fortran order or version we do not read.</exception>
    public static Tensor Read(Stream stream, string? file, string? tensor = null, bool requireEnd = true) =>
        Read(stream, file, tensor, requireEnd, length: null);

    /// <summary>
    /// As <see cref="Read(Stream, string?, string?, bool)"/> for a stream that declares it holds <paramref name="length"/>
    /// bytes (a zip entry's uncompressed size): the array the header describes must fit in what remains after the
    /// header, which is checked before anything is allocated.
    /// </summary>
    internal static Tensor Read(Stream stream, string? file, string? tensor, bool requireEnd, long? length)
    {
        var counted = new Nnef.Archive.CountingReadStream(stream);
        (DType dtype, Shape shape) = NpyHeader.Read(length is null ? stream : counted, file, tensor);
        if (!dtype.TryByteSize(shape.ElementCount, out long size))
        {
            throw new InvalidInputFileException(file, tensor, $"{dtype.Name()}{shape} needs more than 2^63 bytes");
        }

        if (length is long declared && size > declared - counted.Count)
        {
            throw new InvalidInputFileException(file, tensor,
                $"truncated payload: the header describes {dtype.Name()}{shape} ({size} bytes) but the entry holds {Math.Max(0, declared - counted.Count)} bytes after it");
        }

        if (size > Array.MaxLength)
        {
            throw new UnsupportedFeatureException(file, tensor, $"{size}-byte array is larger than one in-memory tensor can hold");
        }

        TensorData data = PayloadReader.Read(stream, size, file, tensor);
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
        using FileStream stream = InputFile.OpenRead(path);
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

}
