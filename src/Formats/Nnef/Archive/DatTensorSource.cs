using Microsoft.Win32.SafeHandles;
using TorchToNnef.Errors;
using TorchToNnef.IO;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>
/// A variable's data in an NNEF archive: the <c>.dat</c> header is parsed and validated when the archive is read,
/// the payload is read only when asked for, and never whole. It stays where it is — a <c>.dat</c> file of a
/// directory, a member of an uncompressed tar or of a level-0 (stored) <c>.tgz</c>, or the temporary file a
/// compressed <c>.tgz</c>'s payloads were copied to — and <see cref="Open"/> maps just its bytes (or reads them by
/// offset; the returned tensor owns that), while <see cref="WriteTo"/> streams it a bounded window at a time, so
/// neither grows the process by the size of the tensor. A Q4_0 payload stored in the legacy nibble order is handed
/// out in the GGML order of <see cref="DType.Q40"/>: converted into memory by <see cref="Open"/>, a window at a time
/// by <see cref="WriteTo"/>.
/// </summary>
public sealed class DatTensorSource : TensorSource
{
    private readonly string? _path;
    private readonly SafeFileHandle? _file;
    private readonly StoredGzipFile? _stored;
    private readonly long _payloadOffset;

    private DatTensorSource(DatHeader header, string location, string? path, SafeFileHandle? file, StoredGzipFile? stored, long payloadOffset)
    {
        Header = header;
        Location = location;
        _path = path;
        _file = file;
        _stored = stored;
        _payloadOffset = payloadOffset;
    }

    /// <summary>The parsed header (item type, vendor, sizes) exactly as stored.</summary>
    public DatHeader Header { get; }

    /// <summary>Where the data lives, for messages: a file path or <c>archive.tgz:member</c>.</summary>
    public string Location { get; }

    /// <inheritdoc />
    public override DType DType => Header.DType;

    /// <inheritdoc />
    public override Shape Shape => Header.Shape;

    /// <summary>False when the archive was read with <see cref="NnefReadOptions.HeadersOnly"/>: the payload cannot be read.</summary>
    public bool HasPayload => _path is not null || _file is not null || _stored is not null;

    /// <summary>A source over a <c>.dat</c> file on disk whose header has been validated.</summary>
    internal static DatTensorSource FromFile(DatHeader header, string path) => new(header, path, path, null, null, 0);

    /// <summary>A source that knows only the header (archive read with <see cref="NnefReadOptions.HeadersOnly"/>, or a member no variable reads).</summary>
    internal static DatTensorSource HeaderOnly(DatHeader header, string location) => new(header, location, null, null, null, 0);

    /// <summary>A source whose payload lies at <paramref name="payloadOffset"/> of an open file (a tar archive, a spill file).</summary>
    internal static DatTensorSource FromRegion(DatHeader header, string location, SafeFileHandle file, long payloadOffset) =>
        new(header, location, null, file, null, payloadOffset);

    /// <summary>A source whose payload lies at decompressed offset <paramref name="payloadOffset"/> of a level-0 <c>.tgz</c>.</summary>
    internal static DatTensorSource FromStoredGzip(DatHeader header, string location, StoredGzipFile archive, long payloadOffset) =>
        new(header, location, null, null, archive, payloadOffset);

    /// <inheritdoc />
    public override Tensor Open()
    {
        TensorData payload = OpenPayload();
        if (!Header.IsBitPackedBool && !Header.IsLegacyQ40Order)
        {
            return new Tensor(DType, Shape, payload);
        }

        using (payload)
        {
            if (Header.IsLegacyQ40Order)
            {
                OwnedTensorData blocks = OwnedTensorData.Allocate(Header.DataSize, clear: false);
                payload.Read(0, blocks.Span);
                Q40LegacyOrder.ToGgml(blocks.Span);
                return new Tensor(DType, Shape, blocks);
            }

            byte[] packed = new byte[Header.DataSize];
            payload.Read(0, packed);
            return new Tensor(DType.Bool, Shape, DatFile.UnpackBits(packed, Shape.ElementCount));
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

        if (Header.IsLegacyQ40Order)
        {
            var ggml = new Q40LegacyOrder.ConvertingStream(destination, toLegacy: false);
            CopyRawPayloadTo(ggml);
            ggml.Complete();
            return;
        }

        CopyRawPayloadTo(destination);
    }

    /// <summary>Copies the payload bytes exactly as stored (packed booleans stay packed), a bounded window at a time.</summary>
    public void CopyRawPayloadTo(Stream destination)
    {
        using TensorData payload = OpenPayload();
        payload.CopyTo(destination);
    }

    // The payload's bytes, owned by the caller: a mapping of just those bytes, or reads by offset in a level-0 .tgz.
    private TensorData OpenPayload()
    {
        if (!HasPayload)
        {
            throw new InvalidOperationException($"{Location}: the payload was not loaded (the archive was read for its headers only).");
        }

        if (_stored is not null)
        {
            return new StoredGzipPayload(_stored, _payloadOffset, Header.DataSize, Location);
        }

        MappedFile map = MapPayload();
        return new OwningView(map.Slice(0, Header.DataSize), map);
    }

    // A mapping of the payload's bytes alone; for a file of a directory, only once the file still has the size its
    // header was checked against.
    private MappedFile MapPayload()
    {
        if (_file is not null)
        {
            return MappedFile.FromHandle(_file, _payloadOffset, Header.DataSize, Location, ownsHandle: false);
        }

        SafeFileHandle handle = InputFile.OpenHandle(_path!);
        try
        {
            long length = RandomAccess.GetLength(handle);
            if (length != DatHeader.Size + Header.DataSize)
            {
                throw new InvalidInputFileException(
                    _path, null, $"file is now {length} bytes; it was {DatHeader.Size + Header.DataSize} when its header was read");
            }

            return MappedFile.FromHandle(handle, DatHeader.Size, Header.DataSize, _path!, ownsHandle: true);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The payload's data; disposing it releases the mapping it lives in.</summary>
    private sealed class OwningView(TensorData inner, IDisposable owner) : TensorData
    {
        public override long ByteLength => inner.ByteLength;

        public override void Read(long offset, Span<byte> destination) => inner.Read(offset, destination);

        public override TensorWindow? OpenWindow(long offset, int length) => inner.OpenWindow(offset, length);

        public override bool TryGetSpan(out ReadOnlySpan<byte> bytes) => inner.TryGetSpan(out bytes);

        protected override void Dispose(bool disposing)
        {
            inner.Dispose();
            owner.Dispose();
        }
    }
}
