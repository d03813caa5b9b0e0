using System.Buffers;
using System.Runtime.InteropServices;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Llm.Weights;

/// <summary>
/// A float payload of a checkpoint seen in the export's float dtype (f32 or f16), produced on each <see cref="Read"/>
/// by a positional read of the source bytes and a conversion (widening is exact, narrowing to f16 rounds once to
/// nearest-even; bf16 goes through f32, which holds it exactly). It offers no mapped windows and no whole-payload
/// span, so a consumer such as the Q4_0 pipeline reads it in small pooled buffers: nothing is held whatever the
/// tensor size, and reads cost a copy from the page cache instead of a page fault per 4 KiB.
/// </summary>
internal sealed class ReadConvertedData : TensorData
{
    // Source bytes converted per step of a Read: small enough for a pooled buffer, large enough to amortize the call.
    private const int StepBytes = 1 << 18;

    private readonly TensorData _inner;
    private readonly DType _from;
    private readonly DType _to;

    /// <summary>Views <paramref name="inner"/> (elements of <paramref name="from"/>) as <paramref name="to"/>; takes ownership of it.</summary>
    /// <exception cref="ArgumentException">A dtype outside f32/f16/bf16 to f32/f16.</exception>
    public ReadConvertedData(TensorData inner, DType from, DType to)
    {
        if (from is not (DType.F32 or DType.F16 or DType.BF16) || to is not (DType.F32 or DType.F16))
        {
            throw new ArgumentException($"Reading {from.Name()} as {to.Name()} is not supported.", nameof(to));
        }

        _inner = inner;
        _from = from;
        _to = to;
        ByteLength = inner.ByteLength / from.ElementSize() * to.ElementSize();
    }

    /// <inheritdoc />
    public override long ByteLength { get; }

    /// <inheritdoc />
    public override void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        int outSize = _to.ElementSize();
        if (offset % outSize != 0 || destination.Length % outSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Reads of converted data must cover whole {_to.Name()} elements.");
        }

        if (_from == _to)
        {
            _inner.Read(offset, destination);
            return;
        }

        int inSize = _from.ElementSize();
        long first = offset / outSize;
        int count = destination.Length / outSize;
        int perStep = StepBytes / inSize;
        byte[] raw = ArrayPool<byte>.Shared.Rent(Math.Min(count, perStep) * inSize);
        float[] wide = ArrayPool<float>.Shared.Rent(Math.Min(count, perStep));
        try
        {
            for (int done = 0; done < count;)
            {
                int n = Math.Min(perStep, count - done);
                Span<byte> source = raw.AsSpan(0, n * inSize);
                _inner.Read((first + done) * inSize, source);
                Span<byte> target = destination.Slice(done * outSize, n * outSize);
                if (_to == DType.F32)
                {
                    FloatConversions.ToSingle(_from, source, MemoryMarshal.Cast<byte, float>(target));
                }
                else
                {
                    FloatConversions.ToSingle(_from, source, wide.AsSpan(0, n));
                    FloatConversions.FromSingle(_to, wide.AsSpan(0, n), target);
                }

                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
            ArrayPool<float>.Shared.Return(wide);
        }
    }

    /// <inheritdoc />
    public override bool TryGetSpan(out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        return false;
    }

    /// <summary>Disposes the source payload (a checkpoint view: the file stays open).</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }
    }
}
