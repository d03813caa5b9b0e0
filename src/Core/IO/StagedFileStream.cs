using TorchToNnef.Errors;

namespace TorchToNnef.IO;

/// <summary>
/// The file stream of a temporary output. Every write first checks that the run was not cancelled (and that its
/// transaction was not aborted), so that any writer, however it loops, stops at its next write with an
/// <see cref="OperationCanceledException"/>, and the transaction then removes what was written.
/// </summary>
internal sealed class StagedFileStream : FileStream
{
    private readonly OutputTransaction _owner;
    private readonly string _userPath;

    // userPath: the output as the user named it, for errors (a full disk must not be reported on the temporary name).
    public StagedFileStream(string path, string userPath, OutputTransaction owner)
        : base(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 1 << 16)
    {
        _owner = owner;
        _userPath = userPath;
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        _owner.ThrowIfStopped();
        try
        {
            base.Write(buffer, offset, count);
        }
        catch (IOException e)
        {
            throw new OutputWriteException(_userPath, e);
        }
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _owner.ThrowIfStopped();
        try
        {
            base.Write(buffer);
        }
        catch (IOException e)
        {
            throw new OutputWriteException(_userPath, e);
        }
    }

    public override void WriteByte(byte value)
    {
        _owner.ThrowIfStopped();
        try
        {
            base.WriteByte(value);
        }
        catch (IOException e)
        {
            throw new OutputWriteException(_userPath, e);
        }
    }

    /// <summary>
    /// Writes <paramref name="pieces"/> one after the other at <paramref name="offset"/> of this file with one gather
    /// write (<c>pwritev</c>) on <paramref name="handle"/> (this stream's handle, fetched once by the caller), bypassing
    /// the stream's buffer and position: for writers that frame large buffers without copying them. The same checks as
    /// <see cref="Write(ReadOnlySpan{byte})"/>: a stopped transaction throws, and an I/O error names the output.
    /// </summary>
    internal void WriteGatherAt(Microsoft.Win32.SafeHandles.SafeFileHandle handle, IReadOnlyList<ReadOnlyMemory<byte>> pieces, long offset)
    {
        _owner.ThrowIfStopped();
        try
        {
            RandomAccess.Write(handle, pieces, offset);
        }
        catch (IOException e)
        {
            throw new OutputWriteException(_userPath, e);
        }
    }

    public override void Flush(bool flushToDisk)
    {
        try
        {
            base.Flush(flushToDisk);
        }
        catch (IOException e)
        {
            throw new OutputWriteException(_userPath, e);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        _owner.ThrowIfStopped();
        return base.WriteAsync(buffer, offset, count, cancellationToken);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _owner.ThrowIfStopped();
        return base.WriteAsync(buffer, cancellationToken);
    }
}
