using System.Buffers;
using System.Runtime.InteropServices;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Benchmarks.Streaming;

/// <summary>
/// A deterministic, weight-like tensor (roughly N(0, 0.02²): the sum of four uniforms, rescaled) produced a window at a
/// time, so that multi-gigabyte checkpoints can be generated without holding one. Same seed, same bytes.
/// </summary>
internal sealed class SyntheticWeights(DType dtype, Shape shape, ulong seed) : TensorSource
{
    private const int WindowElements = 1 << 18;

    public override DType DType => dtype;

    public override Shape Shape => shape;

    public override Tensor Open()
    {
        var sink = new MemoryStream((int)ByteLength);
        WriteTo(sink);
        return new Tensor(dtype, shape, OwnedTensorData.Wrap(sink.ToArray()));
    }

    public override void WriteTo(Stream destination)
    {
        float[] values = ArrayPool<float>.Shared.Rent(WindowElements);
        byte[] bytes = ArrayPool<byte>.Shared.Rent(WindowElements * 4);
        ulong state = seed * 0x9E3779B97F4A7C15UL | 1;
        try
        {
            for (long done = 0, total = shape.ElementCount; done < total;)
            {
                int n = (int)Math.Min(WindowElements, total - done);
                for (int i = 0; i < n; i++)
                {
                    // xorshift64*; four 16-bit uniforms summed have mean 2 * 65535 and variance 4 * 65536² / 12.
                    state ^= state >> 12;
                    state ^= state << 25;
                    state ^= state >> 27;
                    ulong r = state * 0x2545F4914F6CDD1DUL;
                    long sum = (long)(r & 0xFFFF) + (long)((r >> 16) & 0xFFFF) + (long)((r >> 32) & 0xFFFF) + (long)(r >> 48);
                    values[i] = (float)((sum - (2 * 65535.0)) / 37837.0 * 0.02);
                }

                int size = n * dtype.ElementSize();
                FloatConversions.FromSingle(dtype, values.AsSpan(0, n), bytes.AsSpan(0, size));
                destination.Write(bytes, 0, size);
                done += n;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(values);
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
