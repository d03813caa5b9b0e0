using System.Buffers.Binary;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Ir;
using TorchToNnef.OnnxTestSupport;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

/// <summary>
/// A Q4_0 block whose f16 scale is not finite (a NaN in the group, or |x| / 8 beyond f16's 65504) dequantizes to NaN or
/// infinity: quantize, compress, export and export-llm refuse it by default (exit code 3, one line naming the tensor and
/// the group, nothing written), and keep it with --allow-non-finite.
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

    [Theory]
    [InlineData(float.NaN, "holds NaN")]
    [InlineData(3e38f, "too large for an f16 scale")]
    public void ExportAndCompressRefuseANonFiniteScaleUnlessAllowed(float bad, string why)
    {
        using var tmp = new TempDir();
        string model = FcModel(tmp.File("fc.onnx"), bad);

        // export -c: refused, nothing written; then kept with the option.
        (int code, _, string stderr) = CliRunner.Run("export", "-i", model, "-o", tmp.File("q.nnef.tgz"), "-c", "min_max_q4_0");
        AssertRefused(code, stderr, "t2n export: ", why);
        Assert.Equal(["fc.onnx"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName));
        (code, _, stderr) = CliRunner.Run("export", "-i", model, "-o", tmp.File("q.nnef.tgz"), "-c", "min_max_q4_0", "--allow-non-finite");
        Assert.True(code == 0, stderr);
        AssertThirdGroupOnlyIsNonFinite(NnefArchive.Read(tmp.File("q.nnef.tgz")));

        // compress on the float export of the same model.
        (code, _, stderr) = CliRunner.Run("export", "-i", model, "-o", tmp.File("f32.nnef.tgz"));
        Assert.True(code == 0, stderr);
        (code, _, stderr) = CliRunner.Run("compress", "-i", tmp.File("f32.nnef.tgz"), "-o", tmp.File("c.nnef.tgz"), "-c", "min_max_q4_0");
        AssertRefused(code, stderr, "t2n compress: ", why);
        Assert.False(File.Exists(tmp.File("c.nnef.tgz")));
        Assert.Equal(["f32.nnef.tgz", "fc.onnx", "q.nnef.tgz"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        (code, _, stderr) = CliRunner.Run("compress", "-i", tmp.File("f32.nnef.tgz"), "-o", tmp.File("c.nnef.tgz"), "-c", "min_max_q4_0", "--allow-non-finite");
        Assert.True(code == 0, stderr);
        AssertThirdGroupOnlyIsNonFinite(NnefArchive.Read(tmp.File("c.nnef.tgz")));
    }

    [Fact]
    public void ExportLlmRefusesANonFiniteScaleUnlessAllowed()
    {
        using var tmp = new TempDir();
        string checkpoint = tmp.File("ckpt");
        Directory.CreateDirectory(checkpoint);
        string sample = Path.Combine(Golden.RepoRoot, "samples", "tiny-llama");
        File.Copy(Path.Combine(sample, "config.json"), Path.Combine(checkpoint, "config.json"));
        const string Target = "model.layers.1.self_attn.q_proj.weight"; // [64, 64]: 2 groups per row
        using (SafetensorsFile file = SafetensorsFile.Open(Path.Combine(sample, "model.safetensors")))
        {
            var tensors = new List<(string, Tensor)>();
            try
            {
                foreach (SafetensorsEntry e in file.Entries)
                {
                    Tensor t = file.GetTensor(e);
                    if (e.Name == Target)
                    {
                        float[] values = t.ToFloatArray();
                        values[(1 * 64) + 32 + 7] = 3e38f; // row 1, second group: group 3 of the tensor
                        t.Dispose();
                        t = Tensor.FromFloats(new Shape(64, 64), values);
                    }

                    tensors.Add((e.Name, t));
                }

                SafetensorsWriter.Write(Path.Combine(checkpoint, "model.safetensors"), tensors);
            }
            finally
            {
                foreach ((_, Tensor t) in tensors)
                {
                    t.Dispose();
                }
            }
        }

        string export = tmp.File("out");
        (int code, _, string stderr) = CliRunner.Run("export-llm", "-d", checkpoint, "-e", export, "-c", "min_max_q4_0_all");
        Assert.Equal(CliApp.InputError, code);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("t2n export-llm: error", StringComparison.Ordinal));
        Assert.Contains(Target, line, StringComparison.Ordinal);
        Assert.Contains("group 3 ", line, StringComparison.Ordinal);
        Assert.Contains("too large for an f16 scale", line, StringComparison.Ordinal);
        Assert.Contains("--allow-non-finite", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(export));

        (code, _, stderr) = CliRunner.Run("export-llm", "-d", checkpoint, "-e", export, "-c", "min_max_q4_0_all", "--allow-non-finite", "-nv");
        Assert.True(code == 0, stderr);
        Graph g = NnefArchive.Read(Path.Combine(export, "model", "model.nnef.tgz"));
        Half[] scales = Scales(g.Variables.Values.Single(v => v.Label == $"model.{Target}"));
        Assert.Equal(128, scales.Length);
        Assert.Equal([3], Enumerable.Range(0, scales.Length).Where(i => !Half.IsFinite(scales[i])));
    }

    // x [1, 64] -> Gemm with B [4, 64] (transB): B is a linear weight with 2 Q4_0 groups per row; group 3 holds `bad`.
    private static string FcModel(string path, float bad)
    {
        float[] w = new float[4 * 64];
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = ((i * 37) % 19 - 9) / 10f;
        }

        w[(3 * 32) + 5] = bad;
        var m = new OnnxModelBuilder(13);
        m.Graph.Input("x", OnnxDataType.Float, 1, 64)
            .Initializer(OnnxTensorSpec.Floats("fc_weight", w, 4, 64))
            .Node("Gemm", ["x", "fc_weight"], ["y"], OnnxAttr.Int("transB", 1))
            .Output("y", OnnxDataType.Float, 1, 4);
        return m.Save(path);
    }

    private static void AssertRefused(int code, string stderr, string prefix, string why)
    {
        Assert.Equal(CliApp.InputError, code);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(prefix + "error: ", line, StringComparison.Ordinal);
        Assert.Contains("fc_weight", line, StringComparison.Ordinal);
        Assert.Contains("group 3 ", line, StringComparison.Ordinal);
        Assert.Contains(why, line, StringComparison.Ordinal);
        Assert.Contains("--allow-non-finite", line, StringComparison.Ordinal);
    }

    private static void AssertThirdGroupOnlyIsNonFinite(Graph g)
    {
        Variable v = g.Variables.Values.Single(v => v.DType == DType.Q40);
        Half[] scales = Scales(v);
        Assert.Equal(8, scales.Length);
        Assert.Equal([3], Enumerable.Range(0, scales.Length).Where(i => !Half.IsFinite(scales[i])));
    }

    private static Half[] Scales(Variable v)
    {
        using Tensor q = v.Source.Open();
        Assert.True(q.Data.TryGetSpan(out ReadOnlySpan<byte> blocks));
        var scales = new Half[blocks.Length / 18];
        for (int g = 0; g < scales.Length; g++)
        {
            scales[g] = BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(blocks[(g * 18)..]));
        }

        return scales;
    }
}
