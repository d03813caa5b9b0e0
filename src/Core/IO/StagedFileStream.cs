namespace TorchToNnef.IO;

/// <summary>
/// The file stream of a temporary output. Every write first checks that the run was not cancelled (and that its
/// transaction was not aborted), so that any writer, however it loops, stops at its next write with an
/// <see cref="OperationCanceledException"/>, and the transaction then removes what was written.
/// </summary>
internal sealed class StagedFileStream : FileStream
{
    private readonly OutputTransaction _owner;

    public StagedFileStream(string path, OutputTransaction owner)
        : base(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 1 << 16)
    {
        _owner = owner;
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        _owner.ThrowIfStopped();
        base.Write(buffer, offset, count);
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _owner.ThrowIfStopped();
        base.Write(buffer);
    }

    public override void WriteByte(byte value)
    {
        _owner.ThrowIfStopped();
        base.WriteByte(value);
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
