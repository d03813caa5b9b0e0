using TorchToNnef.Quant.Model;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Tests;

/// <summary>The torch_to_nnef-style model: QTensor, its scheme and compressors.</summary>
public class ModelTests
{
    [Fact]
    public void NibblePackerRoundTripsInTheGgmlOrder()
    {
        byte[] codes = Enumerable.Range(0, 64).Select(i => (byte)((i * 7) % 16)).ToArray();
        byte[] ggml = NibblePacker.Ggml.Compress(codes);
        Assert.Equal(32, ggml.Length);
        Assert.Equal((byte)(codes[0] | (codes[16] << 4)), ggml[0]);
        Assert.Equal((byte)(codes[32 + 15] | (codes[32 + 31] << 4)), ggml[31]);
        byte[] back = new byte[64];
        NibblePacker.Ggml.Decompress(ggml, back);
        Assert.Equal(codes, back);
        Assert.Throws<ArgumentException>(() => NibblePacker.Ggml.Compress(new byte[32] { 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }));
    }

    [Fact]
    public void CompressorChainIsUndoneInReverseOrder()
    {
        byte[] codes = Enumerable.Range(0, 128).Select(i => (byte)(i % 16)).ToArray();
        var scheme = new QScalePerGroupF16([0x3C00, 0xBC00, 0x3800, 0x0000]);
        var q = QTensor.FromCodes(new Shape(4, 32), DType.F32, scheme, codes, [NibblePacker.Ggml, new XorCompressor()]);
        Assert.Equal(64, q.Blob.Length);
        Assert.Equal(codes, q.DecompressToU8());

        using Tensor values = q.Decompress();
        float[] expected = new float[128];
        scheme.Dequantize(codes, 0, expected);
        Assert.Equal(expected, values.AsSpan<float>().ToArray());
        Assert.Equal((codes[33] - 8) * -1f, values.AsSpan<float>()[33]);
    }

    [Fact]
    public void QuantizeThenBlocksEqualsTheQuantizer()
    {
        using Tensor t = QuantizerTests.RandomTensor(DType.F16, new Shape(8, 64), seed: 2);
        QTensor q = QTensor.Quantize(t);
        Assert.Equal(DType.F16, q.DequantDType);
        using Tensor direct = Q40Quantizer.Quantize(t);
        using Tensor viaModel = q.ToBlocks();
        Assert.Equal(DType.Q40, viaModel.DType);
        Assert.Equal(direct.Bytes.ToArray(), viaModel.Bytes.ToArray());
        Assert.Equal(q.DecompressToU8(), QTensor.FromBlocks(direct).DecompressToU8());
    }

    /// <summary>A toy lossless compressor to check chaining.</summary>
    private sealed class XorCompressor : IU8Compressor
    {
        public string Name => "xor";

        public byte[] Compress(ReadOnlySpan<byte> input) => input.ToArray().Select(b => (byte)(b ^ 0x5A)).ToArray();

        public void Decompress(ReadOnlySpan<byte> compressed, Span<byte> output)
        {
            for (int i = 0; i < output.Length; i++)
            {
                output[i] = (byte)(compressed[i] ^ 0x5A);
            }
        }
    }
}
