using TorchToNnef.IO;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Nnef;

/// <summary>
/// The legacy Q4_0 <c>.dat</c> encoding (item type 0x2040, what tract &lt;= 0.21.10 reads), the one place it exists:
/// blocks are the in-memory <see cref="DType.Q40"/> blocks with the 32 codes packed as byte j = code[2j] |
/// code[2j+1] &lt;&lt; 4 instead of the GGML byte j = code[j] | code[j+16] &lt;&lt; 4 (q40.md §4); the f16 scale is the
/// same. The reader converts such payloads to the GGML order as they are read, the writer back as they are written.
/// </summary>
internal static class Q40LegacyOrder
{
    private const int BlockBytes = DTypeInfo.Q40BlockBytes;

    /// <summary>Rewrites whole GGML-order blocks in the legacy order, in place.</summary>
    /// <exception cref="ArgumentException">Not a whole number of blocks.</exception>
    public static void FromGgml(Span<byte> blocks)
    {
        CheckWhole(blocks.Length);
        Span<byte> g = stackalloc byte[16];
        for (int at = 0; at < blocks.Length; at += BlockBytes)
        {
            Span<byte> nibbles = blocks.Slice(at + 2, 16);
            nibbles.CopyTo(g);

            // Codes 2j and 2j+1 are the low nibbles of GGML bytes 2j and 2j+1 for j < 8, their high nibbles after.
            for (int j = 0; j < 8; j++)
            {
                nibbles[j] = (byte)((g[2 * j] & 0x0F) | (g[(2 * j) + 1] << 4));
                nibbles[j + 8] = (byte)((g[2 * j] >> 4) | (g[(2 * j) + 1] & 0xF0));
            }
        }
    }

    /// <summary>Rewrites whole legacy-order blocks in the GGML order, in place.</summary>
    /// <exception cref="ArgumentException">Not a whole number of blocks.</exception>
    public static void ToGgml(Span<byte> blocks)
    {
        CheckWhole(blocks.Length);
        Span<byte> l = stackalloc byte[16];
        for (int at = 0; at < blocks.Length; at += BlockBytes)
        {
            Span<byte> nibbles = blocks.Slice(at + 2, 16);
            nibbles.CopyTo(l);

            // GGML byte k holds codes k and k+16: legacy bytes k/2 and 8+k/2, low nibble for even k, high for odd.
            for (int j = 0; j < 8; j++)
            {
                nibbles[2 * j] = (byte)((l[j] & 0x0F) | (l[j + 8] << 4));
                nibbles[(2 * j) + 1] = (byte)((l[j] >> 4) | (l[j + 8] & 0xF0));
            }
        }
    }

    private static void CheckWhole(int length)
    {
        if (length % BlockBytes != 0)
        {
            throw new ArgumentException($"{length} bytes is not a whole number of {BlockBytes}-byte Q4_0 blocks.");
        }
    }

    /// <summary>
    /// A stream that re-orders the Q4_0 blocks written to it (GGML to legacy, or back) and forwards them; a block split
    /// across writes is held until it is whole.
    /// </summary>
    internal sealed class ConvertingStream(Stream output, bool toLegacy) : WriteOnlyStream
    {
        private const int WindowBlocks = 1 << 14;
        private readonly byte[] _window = new byte[WindowBlocks * BlockBytes];
        private int _filled;

        /// <summary>Bytes forwarded so far.</summary>
        public long Forwarded { get; private set; }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            while (!buffer.IsEmpty)
            {
                int n = Math.Min(buffer.Length, _window.Length - _filled);
                buffer[..n].CopyTo(_window.AsSpan(_filled));
                _filled += n;
                buffer = buffer[n..];
                if (_filled == _window.Length)
                {
                    Emit(_filled);
                }
            }
        }

        /// <summary>Forwards the last blocks; throws if the payload ended inside a block.</summary>
        public void Complete()
        {
            int whole = _filled - (_filled % BlockBytes);
            if (whole != _filled)
            {
                throw new InvalidDataException($"The Q4_0 payload is not a whole number of {BlockBytes}-byte blocks ({_filled % BlockBytes} stray bytes).");
            }

            Emit(whole);
        }

        public override void Flush() => output.Flush();

        private void Emit(int count)
        {
            Span<byte> blocks = _window.AsSpan(0, count);
            if (toLegacy)
            {
                FromGgml(blocks);
            }
            else
            {
                ToGgml(blocks);
            }

            output.Write(blocks);
            Forwarded += count;
            _filled = 0;
        }
    }
}
