namespace TorchToNnef.IO;

/// <summary>
/// A pass-through sink that counts the bytes written to an inner stream. Writers use it to check that a lazy tensor
/// source produced exactly the payload size its header declared, without buffering the payload, and to report
/// progress: <paramref name="progress"/>, when given, receives the count each time another
/// <see cref="ReportEveryBytes"/> have gone through.
/// </summary>
/// <param name="inner">The stream that receives the bytes; not disposed by this wrapper.</param>
/// <param name="progress">Called with the running count, about every <see cref="ReportEveryBytes"/>.</param>
internal sealed class CountingStream(Stream inner, Action<long>? progress = null) : WriteOnlyStream
{
    /// <summary>How often <c>progress</c> is called.</summary>
    public const long ReportEveryBytes = 1 << 20;

    private long _reported;

    /// <summary>Bytes written so far.</summary>
    public long Count { get; private set; }

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        Count += buffer.Length;
        if (progress is not null && Count - _reported >= ReportEveryBytes)
        {
            _reported = Count;
            progress(Count);
        }
    }

    /// <inheritdoc />
    /// <summary>Forwards the array itself, so that a writer that frames large buffers in place (a stored gzip) gets it.</summary>
    public override void Write(byte[] buffer, int offset, int count)
    {
        inner.Write(buffer, offset, count);
        Count += count;
        if (progress is not null && Count - _reported >= ReportEveryBytes)
        {
            _reported = Count;
            progress(Count);
        }
    }

    public override void Flush() => inner.Flush();
}
