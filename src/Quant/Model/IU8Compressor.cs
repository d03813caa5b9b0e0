namespace TorchToNnef.Quant.Model;

/// <summary>
/// A lossless transform of a u8 code blob (torch_to_nnef's <c>U8Compressor</c>): bit packing of sub-byte codes,
/// or any classical compression. A <see cref="QTensor"/> applies its compressors in order and undoes them in reverse.
/// </summary>
public interface IU8Compressor
{
    /// <summary>Short name, e.g. <c>nibble_ggml</c>.</summary>
    string Name { get; }

    /// <summary>Compresses <paramref name="input"/> into a new array.</summary>
    byte[] Compress(ReadOnlySpan<byte> input);

    /// <summary>
    /// Restores exactly <paramref name="output"/>.Length bytes from <paramref name="compressed"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The compressed data does not decode to that length.</exception>
    void Decompress(ReadOnlySpan<byte> compressed, Span<byte> output);
}
