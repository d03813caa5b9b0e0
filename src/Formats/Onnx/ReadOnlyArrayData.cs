using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Onnx;

/// <summary>
/// A read-only payload over an array that several views share (a decoded ONNX tensor): unlike
/// <see cref="OwnedTensorData"/> it is not writable, so one consumer cannot change what another one reads.
/// </summary>
internal sealed class ReadOnlyArrayData(byte[] bytes) : TensorData
{
    public override long ByteLength => bytes.Length;

    public override void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        bytes.AsSpan((int)offset, destination.Length).CopyTo(destination);
    }

    public override bool TryGetSpan(out ReadOnlySpan<byte> span)
    {
        span = bytes;
        return true;
    }
}
