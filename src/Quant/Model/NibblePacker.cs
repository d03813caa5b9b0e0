using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.Quant.Model;

/// <summary>
/// Packs 4-bit codes two per byte, 32 codes into 16 bytes, in the GGML nibble order of tract's Q4_0 blocks
/// (byte j = code[j] | code[j+16] &lt;&lt; 4). Codes must be below 16.
/// </summary>
public sealed class NibblePacker : IU8Compressor
{
    private NibblePacker()
    {
    }

    /// <summary>The packer.</summary>
    public static NibblePacker Ggml { get; } = new();

    /// <inheritdoc />
    public string Name => "nibble_ggml";

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The length is not a multiple of 32 or a code is above 15.</exception>
    public byte[] Compress(ReadOnlySpan<byte> input)
    {
        if (input.Length % Q40Format.GroupSize != 0)
        {
            throw new ArgumentException($"{input.Length} codes is not a whole number of {Q40Format.GroupSize}-code groups.", nameof(input));
        }

        if (input.IndexOfAnyExceptInRange((byte)0, (byte)15) >= 0)
        {
            throw new ArgumentException("4-bit codes must be in 0..15.", nameof(input));
        }

        var packed = new byte[input.Length / 2];
        for (int g = 0; g < input.Length / Q40Format.GroupSize; g++)
        {
            Q40Reference.PackNibbles(input.Slice(g * Q40Format.GroupSize, Q40Format.GroupSize), packed.AsSpan(g * Q40Format.CodeBytes, Q40Format.CodeBytes));
        }

        return packed;
    }

    /// <inheritdoc />
    public void Decompress(ReadOnlySpan<byte> compressed, Span<byte> output)
    {
        if (output.Length % Q40Format.GroupSize != 0 || compressed.Length != output.Length / 2)
        {
            throw new ArgumentException($"{compressed.Length} packed bytes cannot hold exactly {output.Length} codes.", nameof(compressed));
        }

        for (int g = 0; g < output.Length / Q40Format.GroupSize; g++)
        {
            Q40Reference.UnpackNibbles(compressed.Slice(g * Q40Format.CodeBytes, Q40Format.CodeBytes), output.Slice(g * Q40Format.GroupSize, Q40Format.GroupSize));
        }
    }
}
