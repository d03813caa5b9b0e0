using System.Buffers;
using TorchToNnef.IO;
using TorchToNnef.Tensors;

namespace TorchToNnef.Ir;

/// <summary>
/// A float tensor seen in another float dtype: f32, f16 or bf16 data handed out as f32 or f16, converted a bounded
/// window at a time with the vectorized conversions of <see cref="FloatConversions"/> (widening is exact; narrowing
/// to f16 rounds to nearest-even, once). <see cref="TensorSource.WriteTo"/> converts as the inner source streams, so
/// writing a bf16 checkpoint as f16 <c>.dat</c> files costs a window of memory, not a tensor.
/// </summary>
public sealed class ConvertedTensorSource : TensorSource
{
    /// <summary>Bytes of source data converted at once.</summary>
    internal const int WindowBytes = 1 << 20;

    /// <summary>Converts <paramref name="inner"/> (f32, f16 or bf16) to <paramref name="target"/> (f32 or f16).</summary>
    /// <exception cref="ArgumentException">A dtype pair outside f32/f16/bf16 to f32/f16.</exception>
    public ConvertedTensorSource(TensorSource inner, DType target)
    {
        if (inner.DType is not (DType.F32 or DType.F16 or DType.BF16) || target is not (DType.F32 or DType.F16))
        {
            throw new ArgumentException($"Converting {inner.DType.Name()} to {target.Name()} is not supported (f32, f16 or bf16 to f32 or f16).", nameof(target));
        }

        Inner = inner;
        DType = target;
    }

    /// <summary>The source that is converted.</summary>
    public TensorSource Inner { get; }

    /// <inheritdoc />
    public override DType DType { get; }

    /// <inheritdoc />
    public override Shape Shape => Inner.Shape;

    /// <inheritdoc />
    public override Tensor Open()
    {
        if (Inner.DType == DType)
        {
            return Inner.Open();
        }

        using Tensor source = Inner.Open();
        OwnedTensorData converted = OwnedTensorData.Allocate(ByteLength, clear: false);
        try
        {
            var state = new OpenState(converted, Inner.DType, DType);
            source.Data.ForEachWindow(0, source.ByteLength, WindowBytes, state, static (window, s) =>
            {
                int written = Convert(s.From, window, s.To, s.Destination.Span[(int)s.Offset..]);
                s.Offset += written;
            });
            return new Tensor(DType, Shape, converted);
        }
        catch
        {
            converted.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override void WriteTo(Stream destination)
    {
        if (Inner.DType == DType)
        {
            Inner.WriteTo(destination);
            return;
        }

        var converter = new ConvertingStream(destination, Inner.DType, DType);
        Inner.WriteTo(converter);
        converter.Complete();
    }

    // Converts whole elements of `from` in `source` into `destination`; returns the bytes written.
    private static int Convert(DType from, ReadOnlySpan<byte> source, DType to, Span<byte> destination)
    {
        int count = source.Length / from.ElementSize();
        int bytes = count * to.ElementSize();
        if (to == DType.F32)
        {
            FloatConversions.ToSingle(from, source, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(destination[..bytes]));
            return bytes;
        }

        if (from == DType.F32)
        {
            FloatConversions.FromSingle(to, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(source), destination[..bytes]);
            return bytes;
        }

        // bf16 to f16 goes through f32, which holds every bf16 exactly: one rounding, as a direct conversion would do.
        float[] scratch = ArrayPool<float>.Shared.Rent(Math.Min(count, WindowBytes / 2));
        try
        {
            for (int done = 0; done < count;)
            {
                int n = Math.Min(scratch.Length, count - done);
                FloatConversions.ToSingle(from, source.Slice(done * from.ElementSize(), n * from.ElementSize()), scratch);
                FloatConversions.FromSingle(to, scratch.AsSpan(0, n), destination.Slice(done * to.ElementSize(), n * to.ElementSize()));
                done += n;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }

        return bytes;
    }

    private sealed class OpenState(OwnedTensorData destination, DType from, DType to)
    {
        public OwnedTensorData Destination => destination;

        public DType From => from;

        public DType To => to;

        public long Offset { get; set; }
    }

    /// <summary>Converts bytes as they are written and forwards the result; holds back a partial element between writes.</summary>
    private sealed class ConvertingStream(Stream output, DType from, DType to) : WriteOnlyStream
    {
        private readonly byte[] _carry = new byte[8];
        private readonly int _inSize = from.ElementSize();
        private int _carried;
        private byte[]? _buffer;

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_carried > 0)
            {
                int take = Math.Min(_inSize - _carried, buffer.Length);
                buffer[..take].CopyTo(_carry.AsSpan(_carried));
                _carried += take;
                buffer = buffer[take..];
                if (_carried < _inSize)
                {
                    return;
                }

                Emit(_carry.AsSpan(0, _inSize));
                _carried = 0;
            }

            int whole = buffer.Length - (buffer.Length % _inSize);
            for (int at = 0; at < whole;)
            {
                int n = Math.Min(whole - at, WindowBytes - (WindowBytes % _inSize));
                Emit(buffer.Slice(at, n));
                at += n;
            }

            buffer[whole..].CopyTo(_carry);
            _carried = buffer.Length - whole;
        }

        public override void Flush() => output.Flush();

        /// <summary>Throws if the payload ended inside an element.</summary>
        public void Complete()
        {
            if (_carried != 0)
            {
                throw new InvalidDataException($"The {from.Name()} payload ended inside an element ({_carried} stray bytes).");
            }

            if (_buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = null;
            }
        }

        private void Emit(ReadOnlySpan<byte> whole)
        {
            _buffer ??= ArrayPool<byte>.Shared.Rent(WindowBytes / _inSize * to.ElementSize());
            int n = Convert(from, whole, to, _buffer);
            output.Write(_buffer, 0, n);
        }
    }
}
