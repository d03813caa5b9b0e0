using System.Buffers;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>
/// A variable's data in an NNEF archive: the <c>.dat</c> header is parsed and validated when the archive is read,
/// the payload is read only when asked for. Files of a directory archive are memory-mapped on <see cref="Open"/>
/// and streamed with positional reads by <see cref="WriteTo"/>; members of a <c>.tgz</c> are held in memory.
/// </summary>
public sealed class DatTensorSource : TensorSource
{
    private readonly string? _path;
    private readonly MemoryPayload? _memory;

    private DatTensorSource(DatHeader header, string location, string? path, MemoryPayload? memory)
    {
        Header = header;
        Location = location;
        _path = path;
        _memory = memory;
    }

    /// <summary>The parsed header (item type, vendor, sizes) exactly as stored.</summary>
    public DatHeader Header { get; }

    /// <summary>Where the data lives, for messages: a file path or <c>archive.tgz:member</c>.</summary>
    public string Location { get; }

    /// <inheritdoc />
    public override DType DType => Header.DType;

    /// <inheritdoc />
    public override Shape Shape => Header.Shape;

    /// <summary>A source over a <c>.dat</c> file on disk whose header has been validated.</summary>
    internal static DatTensorSource FromFile(DatHeader header, string path) => new(header, path, path, null);

    /// <summary>A source that knows only the header (archive read with <see cref="NnefReadOptions.HeadersOnly"/>).</summary>
    internal static DatTensorSource HeaderOnly(DatHeader header, string location) => new(header, location, null, null);

    /// <summary>False when the archive was read with <see cref="NnefReadOptions.HeadersOnly"/>: the payload cannot be read.</summary>
    public bool HasPayload => _path is not null || _memory is not null;

    /// <summary>A source over a whole <c>.dat</c> member (header included) held in memory.</summary>
    internal static DatTensorSource FromMemory(DatHeader header, string location, MemoryPayload member) =>
        new(header, location, null, member);

    /// <inheritdoc />
    public override Tensor Open()
    {
        ThrowIfNoPayload();
        if (Header.IsBitPackedBool)
        {
            byte[] packed = new byte[Header.DataSize];
            ReadPayload(packed);
            return new Tensor(DType.Bool, Shape, DatFile.UnpackBits(packed, Shape.ElementCount));
        }

        if (_memory is not null)
        {
            return new Tensor(DType, Shape, new PayloadView(_memory, DatHeader.Size, Header.DataSize, owner: null));
        }

        MappedFile map = MappedFile.Open(_path!);
        try
        {
            return new Tensor(DType, Shape, new PayloadView(map.Slice(DatHeader.Size, Header.DataSize), 0, Header.DataSize, map));
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public override void WriteTo(Stream destination)
    {
        if (Header.IsBitPackedBool)
        {
            base.WriteTo(destination);
            return;
        }

        CopyRawPayloadTo(destination);
    }

    /// <summary>Copies the payload bytes exactly as stored (packed booleans stay packed).</summary>
    public void CopyRawPayloadTo(Stream destination)
    {
        ThrowIfNoPayload();
        if (_memory is not null)
        {
            _memory.CopyTo(DatHeader.Size, Header.DataSize, destination);
            return;
        }

        using FileStream fs = new(_path!, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        fs.Position = DatHeader.Size;
        byte[] window = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            for (long left = Header.DataSize; left > 0;)
            {
                int n = fs.Read(window, 0, (int)Math.Min(window.Length, left));
                if (n <= 0)
                {
                    throw new EndOfStreamException($"{_path}: file shrank while it was being read");
                }

                destination.Write(window, 0, n);
                left -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(window);
        }
    }

    private void ThrowIfNoPayload()
    {
        if (!HasPayload)
        {
            throw new InvalidOperationException($"{Location}: the payload was not loaded (the archive was read for its headers only).");
        }
    }

    private void ReadPayload(Span<byte> destination)
    {
        if (_memory is not null)
        {
            _memory.Read(DatHeader.Size, destination);
            return;
        }

        using var handle = File.OpenHandle(_path!);
        for (long offset = DatHeader.Size; !destination.IsEmpty;)
        {
            int n = RandomAccess.Read(handle, destination, offset);
            if (n <= 0)
            {
                throw new EndOfStreamException($"{_path}: file shrank while it was being read");
            }

            destination = destination[n..];
            offset += n;
        }
    }

    /// <summary>A window of a payload; disposing releases <c>owner</c> (the mapping) if any.</summary>
    private sealed class PayloadView(TensorData inner, long offset, long length, IDisposable? owner) : TensorData
    {
        public override long ByteLength => length;

        public override void Read(long offset1, Span<byte> destination)
        {
            CheckRange(offset1, destination.Length);
            inner.Read(offset + offset1, destination);
        }

        public override bool TryGetSpan(out ReadOnlySpan<byte> bytes)
        {
            if (inner.TryGetSpan(out ReadOnlySpan<byte> all))
            {
                bytes = all.Slice((int)offset, (int)length);
                return true;
            }

            bytes = default;
            return false;
        }

        protected override void Dispose(bool disposing) => owner?.Dispose();
    }
}
