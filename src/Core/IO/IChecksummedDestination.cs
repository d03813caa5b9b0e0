namespace TorchToNnef.IO;

/// <summary>
/// Computes the checksum of a chunk of bytes where they were produced (a gzip writer's CRC-32, given by the layer that
/// knows the format).
/// </summary>
internal delegate uint ChunkChecksum(ReadOnlySpan<byte> chunk);

/// <summary>
/// A stream that also takes bytes together with their checksum (the <see cref="ChunkChecksum"/> its writer asked the
/// producers for), so that it combines instead of reading them again: a stored gzip writer takes CRC-32s computed on
/// the producer threads while the bytes were in their cache. Only streams that pass bytes on unchanged implement it
/// (forwarding to an inner destination that does, or writing them plainly when it does not).
/// </summary>
internal interface IChecksummedDestination
{
    /// <summary>Writes <paramref name="count"/> bytes of <paramref name="buffer"/> whose checksum is <paramref name="checksum"/>.</summary>
    void Write(byte[] buffer, int offset, int count, uint checksum);
}
