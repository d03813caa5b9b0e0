using TorchToNnef.IO;

namespace TorchToNnef.Formats.Nnef;

/// <summary>
/// Packs one-byte booleans (non-zero = true) into bits, most significant first, as they are written, and forwards the
/// packed bytes: the <c>.dat</c> encoding of the Khronos tools, produced from a streamed source without holding it.
/// </summary>
internal sealed class PackedBoolStream(Stream output) : WriteOnlyStream
{
    private readonly byte[] _packed = new byte[4096];
    private int _filled;
    private byte _partial;
    private int _bits;

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        foreach (byte value in buffer)
        {
            if (value != 0)
            {
                _partial |= (byte)(0x80 >> _bits);
            }

            if (++_bits == 8)
            {
                Put(_partial);
                _partial = 0;
                _bits = 0;
            }
        }
    }

    /// <summary>Writes the last, partial byte (its low bits zero) and flushes what is pending.</summary>
    public void Complete()
    {
        if (_bits != 0)
        {
            Put(_partial);
            _partial = 0;
            _bits = 0;
        }

        output.Write(_packed, 0, _filled);
        _filled = 0;
    }

    private void Put(byte b)
    {
        _packed[_filled++] = b;
        if (_filled == _packed.Length)
        {
            output.Write(_packed, 0, _filled);
            _filled = 0;
        }
    }
}
