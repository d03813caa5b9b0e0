using TorchToNnef.Tensors;

namespace TorchToNnef.Fuzz;

/// <summary>Reads every byte a reader hands out, so that lazy payloads are actually fetched and checked.</summary>
internal static class Touch
{
    [ThreadStatic]
    private static byte[]? t_buffer;

    /// <summary>
    /// Checks that the payload is as long as dtype and shape say (a consumer trusts that), then reads all of it in
    /// bounded chunks and folds it into a checksum.
    /// </summary>
    public static long Tensor(Tensor tensor, string what)
    {
        long expected = tensor.DType.ByteSize(tensor.ElementCount);
        if (tensor.Data.ByteLength != expected)
        {
            throw new FindingException(
                $"{what}: {tensor.DType.Name()}{tensor.Shape} holds {tensor.Data.ByteLength} bytes, its shape needs {expected}");
        }

        byte[] buffer = t_buffer ??= new byte[1 << 16];
        long sum = tensor.ElementCount;
        long length = tensor.Data.ByteLength;
        for (long offset = 0; offset < length; offset += buffer.Length)
        {
            int n = (int)Math.Min(buffer.Length, length - offset);
            tensor.Data.Read(offset, buffer.AsSpan(0, n));
            sum += buffer[0] + buffer[n - 1];
        }

        return sum;
    }
}
