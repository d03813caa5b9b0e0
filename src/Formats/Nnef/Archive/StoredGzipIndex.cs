using Microsoft.Win32.SafeHandles;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>
/// Where the bytes of a gzip file made only of stored (uncompressed) deflate blocks lie in that file. Compression
/// level 0 — torch_to_nnef's default and ours — writes such files: the tar is in the file verbatim, cut into blocks of
/// up to 64 KiB by 5-byte block headers. With this index a member's payload is read by offset from the <c>.tgz</c>
/// itself, like a member of a <c>.tar</c>, instead of being decompressed again or copied to a temporary file. Any
/// other block type (real compression) or anything unexpected in the framing means no index; the caller then treats
/// the file as an ordinary gzip stream. The gzip checksums are not checked here: the archive reader decompresses the
/// file once anyway, and that pass checks them.
/// </summary>
internal sealed class StoredGzipIndex
{
    // An index entry per block: blocks smaller than this on average are not worth indexing (and a file of tiny blocks
    // must not make the index larger than the file).
    private const int MinAverageBlock = 4096;

    private readonly long[] _starts;
    private readonly long[] _fileOffsets;

    private StoredGzipIndex(long[] starts, long[] fileOffsets, long length)
    {
        _starts = starts;
        _fileOffsets = fileOffsets;
        Length = length;
    }

    /// <summary>Total decompressed length.</summary>
    public long Length { get; }

    /// <summary>Indexes <paramref name="handle"/> if it is a gzip file of stored blocks only; null otherwise.</summary>
    public static StoredGzipIndex? TryBuild(SafeFileHandle handle, long fileLength)
    {
        var starts = new List<long>();
        var offsets = new List<long>();
        long maxBlocks = (fileLength / MinAverageBlock) + 16;
        long at = 0, produced = 0;
        Span<byte> head = stackalloc byte[10];
        Span<byte> field = stackalloc byte[4];
        do
        {
            // Member header: 1F 8B 08 FLG MTIME(4) XFL OS, then the optional fields FLG announces.
            if (RandomAccess.Read(handle, head, at) != head.Length || head[0] != 0x1f || head[1] != 0x8b || head[2] != 8 || (head[3] & 0xE0) != 0)
            {
                return null;
            }

            byte flags = head[3];
            at += head.Length;
            if ((flags & 0x04) != 0)
            {
                if (RandomAccess.Read(handle, field[..2], at) != 2)
                {
                    return null;
                }

                at += 2 + (field[0] | (field[1] << 8));
            }

            for (int zeroTerminated = 0; zeroTerminated < 2; zeroTerminated++)
            {
                if ((flags & (zeroTerminated == 0 ? 0x08 : 0x10)) != 0 && (at = SkipZeroTerminated(handle, at, fileLength)) < 0)
                {
                    return null;
                }
            }

            at += (flags & 0x02) != 0 ? 2 : 0;
            bool final;
            do
            {
                // Stored block: a byte whose bit 0 is BFINAL and bits 1-2 are BTYPE = 00, then LEN and NLEN = ~LEN.
                Span<byte> block = head[..5];
                if (RandomAccess.Read(handle, block, at) != 5 || (block[0] & 0x06) != 0)
                {
                    return null;
                }

                final = (block[0] & 1) != 0;
                int len = block[1] | (block[2] << 8);
                int nlen = block[3] | (block[4] << 8);
                if ((len ^ 0xFFFF) != nlen || at + 5 + len > fileLength)
                {
                    return null;
                }

                if (len > 0)
                {
                    if (starts.Count >= maxBlocks)
                    {
                        return null;
                    }

                    starts.Add(produced);
                    offsets.Add(at + 5);
                    produced += len;
                }

                at += 5 + len;
            }
            while (!final);

            at += 8; // CRC32 and ISIZE
        }
        while (at < fileLength);

        return at == fileLength ? new StoredGzipIndex([.. starts], [.. offsets], produced) : null;
    }

    /// <summary>Copies decompressed bytes at <paramref name="offset"/> with positional reads of the gzip file.</summary>
    public void Read(SafeFileHandle handle, long offset, Span<byte> destination)
    {
        if (offset < 0 || offset > Length - destination.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"range [{offset}, {offset}+{destination.Length}) is outside the {Length} decompressed bytes");
        }

        int block = Array.BinarySearch(_starts, offset);
        if (block < 0)
        {
            block = ~block - 1;
        }

        while (!destination.IsEmpty)
        {
            long end = block + 1 < _starts.Length ? _starts[block + 1] : Length;
            long within = offset - _starts[block];
            int n = (int)Math.Min(destination.Length, end - offset);
            Span<byte> piece = destination[..n];
            for (long fileAt = _fileOffsets[block] + within; !piece.IsEmpty;)
            {
                int got = RandomAccess.Read(handle, piece, fileAt);
                if (got <= 0)
                {
                    throw new EndOfStreamException("the archive shrank while it was read");
                }

                piece = piece[got..];
                fileAt += got;
            }

            destination = destination[n..];
            offset += n;
            block++;
        }
    }

    private static long SkipZeroTerminated(SafeFileHandle handle, long at, long fileLength)
    {
        Span<byte> chunk = stackalloc byte[256];
        while (at < fileLength)
        {
            int got = RandomAccess.Read(handle, chunk, at);
            if (got <= 0)
            {
                return -1;
            }

            int zero = chunk[..got].IndexOf((byte)0);
            if (zero >= 0)
            {
                return at + zero + 1;
            }

            at += got;
        }

        return -1;
    }
}
