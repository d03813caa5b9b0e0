using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats;

/// <summary>
/// Reads a payload whose size a header declared into an owned buffer without trusting that size: a seekable stream
/// must hold the bytes before the buffer is allocated, and on an unseekable one (a deflated zip entry, a pipe) the
/// buffer grows as bytes actually arrive, so a header that lies costs at most twice what the stream really delivers.
/// </summary>
internal static class PayloadReader
{
    private const int InitialUnseekableBuffer = 1 << 20;

    /// <summary>Reads exactly <paramref name="size"/> bytes.</summary>
    /// <exception cref="InvalidInputFileException">The stream holds fewer bytes (truncated payload).</exception>
    /// <exception cref="UnsupportedFeatureException">More bytes than one in-memory tensor can hold.</exception>
    public static OwnedTensorData Read(Stream stream, long size, string? file, string? tensor)
    {
        if (stream.CanSeek && stream.Length - stream.Position < size)
        {
            throw new InvalidInputFileException(file, tensor,
                $"truncated payload: header needs {size} bytes, {stream.Length - stream.Position} remain");
        }

        if (stream.CanSeek || size <= InitialUnseekableBuffer)
        {
            ThrowIfTooLarge(size, file, tensor);
            OwnedTensorData owned = OwnedTensorData.Allocate(size, clear: false);
            int n = stream.ReadAtLeast(owned.Span, (int)size, throwOnEndOfStream: false);
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

            // Only a stream that really delivers this much learns that the payload cannot be held.
            if (buffer.Length == Array.MaxLength)
            {
                ThrowIfTooLarge(size, file, tensor);
            }

            Array.Resize(ref buffer, (int)Math.Min(Math.Min(size, 2L * buffer.Length), Array.MaxLength));
        }
    }

    private static void ThrowIfTooLarge(long size, string? file, string? tensor)
    {
        if (size > Array.MaxLength)
        {
            throw new UnsupportedFeatureException(file, tensor, $"{size}-byte payload is larger than one in-memory tensor can hold");
        }
    }

    private static InvalidInputFileException Truncated(string? file, string? tensor, long size, int got) =>
        new(file, tensor, $"truncated payload: {got} of {size} bytes");
}
