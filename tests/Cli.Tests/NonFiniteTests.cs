using System.Buffers.Binary;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

/// <summary>
/// A Q4_0 block whose f16 scale is not finite (a NaN in the group, or |x| / 8 beyond f16's 65504) dequantizes to NaN or
/// infinity: quantize refuses it by default, naming the tensor and the group, and keeps it with --allow-non-finite.
/// </summary>
public class NonFiniteTests
{
    [Theory]
    [InlineData(float.NaN, "holds NaN")]
    [InlineData(3e38f, "too large for an f16 scale")]
    [InlineData(600_000f, "too large for an f16 scale")] // 600000 / 8 = 75000 > 65504: overflows already
    public void QuantizeRefusesANonFiniteScaleUnlessAllowed(float bad, string why)
    {
        using var tmp = new TempDir();
        string input = tmp.File("model.safetensors");
        float[] values = new float[4 * 64];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = ((i * 37) % 19 - 9) / 10f;
        }

        values[(3 * 32) + 5] = bad; // group 3 of 8
        using (Tensor w = Tensor.FromFloats(new Shape(4, 64), values))
        {
            SafetensorsWriter.Write(input, [("fc.weight", w)]);
        }

        (int code, _, string stderr) = CliRunner.Run("quantize", input, "-o", tmp.File("out"));
        Assert.Equal(CliApp.InputError, code);
        Assert.Contains("fc.weight", stderr, StringComparison.Ordinal);
        Assert.Contains("group 3 ", stderr, StringComparison.Ordinal);
        Assert.Contains(why, stderr, StringComparison.Ordinal);
        Assert.Contains("--allow-non-finite", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("out")) && Directory.EnumerateFileSystemEntries(tmp.File("out")).Any());

        (code, _, stderr) = CliRunner.Run("quantize", input, "-o", tmp.File("out"), "--allow-non-finite");
        Assert.True(code == 0, stderr);
        using Tensor q = DatFile.Read(tmp.File("out/fc.weight.dat"));
        Assert.True(q.Data.TryGetSpan(out ReadOnlySpan<byte> blocks));
        for (int g = 0; g < 8; g++)
        {
            Half scale = BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(blocks[(g * 18)..]));
            Assert.Equal(g != 3, Half.IsFinite(scale));
        }
    }
}
