using TorchToNnef.IO;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>
/// Converts Q4_0 blocks between tract's two nibble orders while they stream to a file (q40.md §4): GGML order
/// (item 0x3040, byte j = code[j] | code[j+16] &lt;&lt; 4) and legacy order (0x2040, byte j = code[2j] | code[2j+1] &lt;&lt; 4).
/// The f16 scale of each 18-byte block is copied unchanged.
/// </summary>
internal sealed class Q40Layout : WriteOnlyStream
{
    private readonly Stream _out;
    private readonly bool _toLegacy;
    private readonly byte[] _block = new byte[DTypeInfo.Q40BlockBytes];
    private int _filled;

    /// <summary>A stream that converts blocks of <paramref name="from"/> to <paramref name="to"/> and writes them to <paramref name="output"/>.</summary>
    public Q40Layout(Stream output, DType from, DType to)
    {
        if (!from.IsBlockQuantized() || !to.IsBlockQuantized() || from == to)
        {
            throw new ArgumentException($"No conversion from {from.Name()} to {to.Name()}.");
        }

        _out = output;
        _toLegacy = to == DType.Q40Legacy;
    }

    /// <summary>Converts one block in place.</summary>
    public static void ConvertBlock(Span<byte> block, bool toLegacy)
    {
        Span<byte> codes = stackalloc byte[DTypeInfo.Q40BlockElements];
        Span<byte> nibbles = block.Slice(2, 16);
        for (int j = 0; j < 16; j++)
        {
            byte lo = (byte)(nibbles[j] & 0x0F);
            byte hi = (byte)(nibbles[j] >> 4);
            if (toLegacy)
            {
                // Source is GGML order.
                codes[j] = lo;
                codes[j + 16] = hi;
            }
            else
            {
                codes[2 * j] = lo;
                codes[(2 * j) + 1] = hi;
            }
        }

        for (int j = 0; j < 16; j++)
        {
            nibbles[j] = toLegacy
                ? (byte)(codes[2 * j] | (codes[(2 * j) + 1] << 4))
                : (byte)(codes[j] | (codes[j + 16] << 4));
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            int n = Math.Min(buffer.Length, _block.Length - _filled);
            buffer[..n].CopyTo(_block.AsSpan(_filled));
            _filled += n;
            buffer = buffer[n..];
            if (_filled == _block.Length)
            {
                ConvertBlock(_block, _toLegacy);
                _out.Write(_block);
                _filled = 0;
            }
        }
    }

    /// <summary>Throws if a partial block is pending (the payload was not a whole number of blocks).</summary>
    public void Complete()
    {
        if (_filled != 0)
        {
            throw new InvalidDataException("Q4_0 payload is not a whole number of 18-byte blocks.");
        }
    }

    public override void Flush() => _out.Flush();
}
