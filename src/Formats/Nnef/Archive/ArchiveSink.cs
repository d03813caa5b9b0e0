using System.IO.Compression;
using System.Text;
using TorchToNnef.IO;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>Where the members of an archive go: files of a directory, or members of a (compressed) tar stream.</summary>
internal abstract class ArchiveSink : IDisposable
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Writes a text member.</summary>
    public void WriteText(string path, string text)
    {
        byte[] bytes = Utf8.GetBytes(text);
        using Stream s = Begin(path, bytes.Length);
        s.Write(bytes);
        End();
    }

    /// <summary>
    /// Writes a <c>.dat</c> member with <see cref="DatFile.Write(Stream, TensorSource, DatHeader)"/>, the payload
    /// streamed from <paramref name="source"/> (the member's own source, or one prefetching it);
    /// <paramref name="progress"/> receives the member's bytes written so far, about every MiB.
    /// </summary>
    public void WriteDat(DatMember dat, TensorSource source, Action<long>? progress = null)
    {
        using Stream s = Begin(dat.Path, DatHeader.Size + dat.Header.DataSize);
        try
        {
            DatFile.Write(progress is null ? s : new CountingStream(s, progress), source, dat.Header);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{dat.Path}: {e.Message}", e);
        }

        End();
    }

    /// <summary>Finishes the container (tar trailer, gzip footer) and flushes to disk.</summary>
    public abstract void Complete();

    /// <inheritdoc />
    public abstract void Dispose();

    /// <summary>Starts a member of <paramref name="size"/> bytes; returns the stream to write it to.</summary>
    protected abstract Stream Begin(string path, long size);

    /// <summary>Ends the current member.</summary>
    protected abstract void End();
}

/// <summary>
/// Writes members as files of a directory; <paramref name="create"/> creates the file of a <c>/</c>-separated member
/// path (and its sub-folders) and returns its stream.
/// </summary>
internal sealed class DirectorySink(Func<string, FileStream> create) : ArchiveSink
{
    private FileStream? _current;

    public override void Complete()
    {
    }

    public override void Dispose() => _current?.Dispose();

    protected override Stream Begin(string path, long size)
    {
        _current = create(path);
        return new NonClosingWriteStream(_current);
    }

    protected override void End()
    {
        _current!.Flush(flushToDisk: true);
        _current.Dispose();
        _current = null;
    }
}

/// <summary>Writes members into a tar stream, optionally gzip-compressed at a chosen level.</summary>
internal sealed class TarSink : ArchiveSink
{
    /// <summary>gzip header byte 9 (OS): "unknown", as Python writes it, so the bytes do not depend on the platform.</summary>
    private const byte GzipUnknownOs = 0xFF;

    private readonly FileStream _file;
    private readonly GZipStream? _gzip;
    private readonly StoredGzipWriter? _stored;
    private readonly DeterministicTarWriter _tar;
    private readonly TarMemberStream _member;
    private readonly bool _flushToDisk;

    /// <summary>Writes into <paramref name="file"/> (a new, empty file; disposed with the sink).</summary>
    public TarSink(FileStream file, bool gzip, int level, bool flushToDisk = true)
    {
        _file = file;
        _flushToDisk = flushToDisk;
        Stream target = _file;
        if (gzip && level == 0)
        {
            // Stored blocks framed around the data itself: no copy through zlib, large gather writes.
            _stored = new StoredGzipWriter(_file);
            target = _stored;
        }
        else if (gzip)
        {
            _gzip = new GZipStream(_file, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true);
            target = new BufferedStream(_gzip, 1 << 16);
        }
        else
        {
            target = new BufferedStream(_file, 1 << 16);
        }

        _tar = new DeterministicTarWriter(target);
        _member = new TarMemberStream(_tar);
    }

    public override void Complete()
    {
        _tar.Finish();
        _tar.Flush();
        _stored?.Finish();
        if (_gzip is not null)
        {
            _gzip.Dispose();
            _file.Position = 9;
            _file.WriteByte(GzipUnknownOs);
        }

        _file.Flush(flushToDisk: _flushToDisk);
    }

    public override void Dispose()
    {
        _gzip?.Dispose();
        _file.Dispose();
    }

    protected override Stream Begin(string path, long size)
    {
        _tar.BeginMember(path, size);
        return _member;
    }

    protected override void End() => _tar.EndMember();

    /// <summary>The data of the current tar member.</summary>
    private sealed class TarMemberStream(DeterministicTarWriter tar) : WriteOnlyStream
    {
        public override void Write(ReadOnlySpan<byte> buffer) => tar.Write(buffer);

        public override void Write(byte[] buffer, int offset, int count)
        {
            ValidateBufferArguments(buffer, offset, count);
            tar.Write(buffer, offset, count);
        }

        protected override void Dispose(bool disposing)
        {
            // The member ends with End(); the tar stream stays open.
        }
    }
}

/// <summary>Forwards writes; disposing leaves the inner stream open (its owner closes it).</summary>
internal sealed class NonClosingWriteStream(Stream inner) : WriteOnlyStream
{
    public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

    public override void Flush() => inner.Flush();
}
