using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using TorchToNnef.Formats.Checksums;
using TorchToNnef.IO;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>
/// Writes a gzip file of stored (uncompressed) deflate blocks — what gzip level 0 is — straight to a file with
/// positional gather writes: the bytes of a large array-backed write go from the caller's buffer to the file (the
/// kernel copies them into the page cache), with a 5-byte block header before every 65,535 bytes, in one
/// <c>pwritev</c>; small writes (tar headers, padding, texts) are framed in a staging buffer that goes out with the
/// next large write. Through <see cref="System.IO.Compression.GZipStream"/> at level 0, each byte was copied twice in
/// user space (into zlib's window while its CRC was computed, then into the file stream's buffer) and written 64 KiB at
/// a time (bench/README.md, "Archive writer (w-io)"). The CRC-32 is <see cref="GzipCrc32"/> (carry-less multiply,
/// 256 bits at a time in the AOT binary).
/// <para>
/// The output is a valid gzip member (header: no name, mtime 0, XFL 4, OS "unknown") that any gzip reader and
/// <see cref="StoredGzipIndex"/> read; its blocks are up to 65,535 bytes, so an index stays small. Call
/// <see cref="Finish"/> to write the last block and the trailer; the file stream's position is then the end of the
/// gzip data.
/// </para>
/// </summary>
internal sealed class StoredGzipWriter : WriteOnlyStream
{
    /// <summary>Largest payload of a stored block (LEN is 16 bits).</summary>
    internal const int MaxBlock = 65535;

    /// <summary>Array-backed writes of at least this many bytes are written from the caller's buffer, without a copy.</summary>
    internal const int DirectBytes = 16 << 10;

    private const int HeaderBytes = 5;

    // At most this many payload bytes per gather write: 128 blocks, 257 pieces, well under IOV_MAX (1024).
    private const int MaxGatherBytes = 128 * MaxBlock;

    // gzip header: magic, deflate, no flags, mtime 0, XFL 4 (what zlib writes at levels 0-1), OS 255 "unknown" (the
    // bytes do not depend on the platform).
    private static readonly byte[] GzipHeader = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 0xFF];

    private readonly FileStream _file;
    private readonly SafeFileHandle _handle;
    // Uninitialized: only bytes already framed into it are ever written out, and an archive of large tensors frames
    // little (tar headers, padding, texts) besides the gzip header, so most of its pages are never touched (zeroing
    // it cost ~200 page faults at the start of every export: bench/README.md, "Huge pages for the prefetch pipe").
    private readonly byte[] _stage = GC.AllocateUninitializedArray<byte>(16 * (HeaderBytes + MaxBlock));
    private readonly List<ReadOnlyMemory<byte>> _pieces = [];
    private byte[] _headers = new byte[HeaderBytes * 256];
    private uint _crc;
    private long _offset;
    private long _length;
    private int _staged;
    private int _open = -1;
    private bool _finished;

    /// <summary>Starts a gzip member at the current position of <paramref name="file"/> (not disposed here).</summary>
    public StoredGzipWriter(FileStream file)
    {
        _file = file;
        _file.Flush();
        _handle = file.SafeFileHandle;
        _offset = file.Position;
        GzipHeader.CopyTo(_stage, 0);
        _staged = GzipHeader.Length;
    }

    /// <summary>Uncompressed bytes written so far.</summary>
    public long UncompressedLength => _length;

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        _crc = GzipCrc32.Append(_crc, buffer);
        _length += buffer.Length;
        while (!buffer.IsEmpty)
        {
            if (_open < 0)
            {
                if (_stage.Length - _staged < HeaderBytes + 1)
                {
                    FlushStage();
                }

                _open = _staged;
                _staged += HeaderBytes;
            }

            int n = Math.Min(buffer.Length, Math.Min(MaxBlock - (_staged - _open - HeaderBytes), _stage.Length - _staged));
            buffer[..n].CopyTo(_stage.AsSpan(_staged));
            _staged += n;
            buffer = buffer[n..];
            if (_staged - _open - HeaderBytes == MaxBlock || _staged == _stage.Length)
            {
                CloseBlock();
            }
        }
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        if (count < DirectBytes)
        {
            Write(buffer.AsSpan(offset, count));
            return;
        }

        ObjectDisposedException.ThrowIf(_finished, this);
        _crc = GzipCrc32.Append(_crc, buffer.AsSpan(offset, count));
        _length += count;
        CloseBlock();
        while (count > 0)
        {
            int gather = Math.Min(count, MaxGatherBytes);
            int blocks = (gather + MaxBlock - 1) / MaxBlock;
            if (_headers.Length < blocks * HeaderBytes)
            {
                _headers = new byte[blocks * HeaderBytes];
            }

            _pieces.Clear();
            long total = 0;
            if (_staged > 0)
            {
                _pieces.Add(_stage.AsMemory(0, _staged));
                total += _staged;
            }

            for (int b = 0; b < blocks; b++)
            {
                int n = Math.Min(MaxBlock, gather - (b * MaxBlock));
                PutHeader(_headers.AsSpan(b * HeaderBytes, HeaderBytes), n, final: false);
                _pieces.Add(_headers.AsMemory(b * HeaderBytes, HeaderBytes));
                _pieces.Add(buffer.AsMemory(offset + (b * MaxBlock), n));
                total += HeaderBytes + n;
            }

            WritePieces(total);
            _staged = 0;
            offset += gather;
            count -= gather;
        }
    }

    /// <summary>Writes the final (empty) block and the trailer (CRC-32, length mod 2^32); further writes throw.</summary>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }

        CloseBlock();
        if (_stage.Length - _staged < HeaderBytes + 8)
        {
            FlushStage();
        }

        PutHeader(_stage.AsSpan(_staged, HeaderBytes), 0, final: true);
        _staged += HeaderBytes;
        BinaryPrimitives.WriteUInt32LittleEndian(_stage.AsSpan(_staged), _crc);
        BinaryPrimitives.WriteUInt32LittleEndian(_stage.AsSpan(_staged + 4), unchecked((uint)_length));
        _staged += 8;
        FlushStage();
        _finished = true;
        _file.Position = _offset;
    }

    /// <inheritdoc />
    public override void Flush() => FlushStage();

    private static void PutHeader(Span<byte> header, int length, bool final)
    {
        header[0] = final ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt16LittleEndian(header[1..], (ushort)length);
        BinaryPrimitives.WriteUInt16LittleEndian(header[3..], (ushort)~length);
    }

    // Ends the block being filled in the staging buffer (its header gets its length); an empty one is dropped.
    private void CloseBlock()
    {
        if (_open < 0)
        {
            return;
        }

        int length = _staged - _open - HeaderBytes;
        if (length == 0)
        {
            _staged = _open;
        }
        else
        {
            PutHeader(_stage.AsSpan(_open, HeaderBytes), length, final: false);
        }

        _open = -1;
    }

    private void FlushStage()
    {
        CloseBlock();
        if (_staged == 0)
        {
            return;
        }

        _pieces.Clear();
        _pieces.Add(_stage.AsMemory(0, _staged));
        WritePieces(_staged);
        _staged = 0;
    }

    private void WritePieces(long total)
    {
        if (_file is StagedFileStream staged)
        {
            staged.WriteGatherAt(_handle, _pieces, _offset);
        }
        else
        {
            RandomAccess.Write(_handle, _pieces, _offset);
        }

        _offset += total;
    }
}
