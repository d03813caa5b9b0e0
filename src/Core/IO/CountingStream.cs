namespace TorchToNnef.IO;

/// <summary>
/// A pass-through sink that counts the bytes written to an inner stream. Writers use it to check that a lazy tensor
/// source produced exactly the payload size its header declared, without buffering the payload.
/// </summary>
/// <param name="inner">The stream that receives the bytes; not disposed by this wrapper.</param>
public sealed class CountingStream(Stream inner) : WriteOnlyStream
{
    /// <summary>Bytes written so far.</summary>
    public long Count { get; private set; }

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        inner.Write(buffer);
        Count += buffer.Length;
    }

    /// <inheritdoc />
    public override void Flush() => inner.Flush();
}
