using System.Text.Json;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

/// <summary><c>t2n quantize</c> end to end (in-process): golden bytes, refusals, reports, and nothing left behind on failure.</summary>
public class QuantizeCommandTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (JsonElement c in Manifest.RootElement.GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("id").GetString()!);
        }

        return data;
    }

    private static JsonDocument Manifest => JsonDocument.Parse(File.ReadAllText(Golden.File("q40", "manifest.json")));

    [Theory]
    [MemberData(nameof(Cases))]
    public void QuantizingAGoldenInputGivesTheGoldenBytes(string id)
    {
        JsonElement c = Manifest.RootElement.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("id").GetString() == id);
        string input = Golden.File("q40", c.GetProperty("input_file").GetString()!);
        string percentile = c.GetProperty("percentile").GetDouble().ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (JsonElement dat in c.GetProperty("dat_files").EnumerateArray())
        {
            using var tmp = new TempDir();
            string[] args = ["quantize", input, "-o", tmp.Path, "--tract-version", dat.GetProperty("target_version").GetString()!, "--percentile", percentile];
            if (id.Contains("overflow", StringComparison.Ordinal))
            {
                // The reference tool writes the infinite scale; we refuse it unless --allow-non-finite is given.
                (int refused, _, string why) = CliRunner.Run(args);
                Assert.Equal(CliApp.InputError, refused);
                Assert.Contains("too large for an f16 scale", why, StringComparison.Ordinal);
                Assert.Empty(Directory.GetFiles(tmp.Path));
                args = [.. args, "--allow-non-finite"];
            }

            (int code, string stdout, string stderr) = CliRunner.Run(args);
            Assert.True(code == 0, stderr);
            Assert.Contains("quantized 1 tensor(s)", stdout);
            byte[] expected = File.ReadAllBytes(Golden.File("q40", dat.GetProperty("file").GetString()!));
            Assert.Equal(expected, File.ReadAllBytes(tmp.File("weight.dat")));
            Assert.Single(Directory.GetFiles(tmp.Path));
        }
    }

    [Fact]
    public void DefaultTargetIsTheLatestVersionWithTheGgmlOrder()
    {
        using var tmp = new TempDir();
        (int code, _, string stderr) = CliRunner.Run("quantize", Golden.File("q40", "s32x32_f32_normal.input.safetensors"), "-o", tmp.Path);
        Assert.True(code == 0, stderr);
        Assert.Equal(File.ReadAllBytes(Golden.File("q40", "s32x32_f32_normal.tract-0.21.13.dat")), File.ReadAllBytes(tmp.File("weight.dat")));
    }

    [Theory]
    [InlineData("e64_f32_rank1", "rank")]
    [InlineData("e4x30_f32_row_not_mult32", "multiple of 32")]
    [InlineData("e3x48_f32_row48", "multiple of 32")]
    [InlineData("e2x2x2x2x32_f32_rank5", "rank")]
    public void WithStrictAnIneligibleTensorIsAnErrorNamingItAndNothingIsWritten(string id, string why)
    {
        using var tmp = new TempDir();
        string output = tmp.File("out");
        (int code, _, string stderr) = CliRunner.Run("quantize", Golden.File("q40", id + ".input.safetensors"), "-o", output, "--strict");
        Assert.Equal(CliApp.InputError, code);
        Assert.Contains("tensor 'weight'", stderr);
        Assert.Contains(why, stderr);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void ByDefaultIneligibleTensorsAreKeptInFloatAndNamed()
    {
        using var tmp = new TempDir();
        string input = tmp.File("model.safetensors");
        using Tensor w = Random(DType.F16, new Shape(4, 64), 1);
        using Tensor bias = Random(DType.F32, new Shape(4), 2);
        SafetensorsWriter.Write(input, [("fc.weight", w), ("fc.bias", bias)]);
        (int code, string stdout, string stderr) = CliRunner.Run("quantize", input, "-o", tmp.File("out"), "--report");
        Assert.True(code == 0, stderr);
        Assert.Contains("kept in float: fc.bias", stdout);
        Assert.Contains("quantized 1 tensor(s), 1 kept in float", stdout);
        Assert.Equal(["fc.weight.dat"], Directory.GetFiles(tmp.File("out")).Select(Path.GetFileName));
        Assert.Matches(@"fc\.weight\s+f16\s+\[4, 64\]\s+[0-9.eE-]+\s+[0-9.eE-]+\s+[0-9.]+", stdout);

        using Tensor q = DatFile.Read(tmp.File("out/fc.weight.dat"));
        Assert.Equal(DType.Q40, q.DType);
        Assert.Equal(w.Shape, q.Shape);
    }

    [Fact]
    public void TensorNamesCannotEscapeTheOutputFolder()
    {
        using var tmp = new TempDir();
        string input = tmp.File("evil.safetensors");
        using Tensor w = Random(DType.F32, new Shape(2, 32), 3);
        SafetensorsWriter.Write(input, [("../../etc/passwd", w)]);
        (int code, _, string stderr) = CliRunner.Run("quantize", input, "-o", tmp.File("out"));
        Assert.True(code == 0, stderr);
        string[] dats = Directory.GetFiles(tmp.File("out"), "*.dat");
        Assert.Single(dats);
        Assert.Equal(tmp.File("out"), Path.GetDirectoryName(dats[0]));
        Assert.False(Path.GetFileName(dats[0]).StartsWith('.'));
        Assert.False(File.Exists(tmp.File("etc/passwd.dat")));
        Assert.Equal(["evil.safetensors", "out"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName).Order());

        // The name is not usable as a file name: the index says which file holds it.
        Assert.Equal(Path.GetFileName(dats[0]), Safety.QuantizeNamingTests.ReadIndex(tmp.File("out"))["../../etc/passwd"]);
    }

    [Fact]
    public void ExistingOutputsNeedOverwrite()
    {
        using var tmp = new TempDir();
        string input = Golden.File("q40", "s32x32_f32_normal.input.safetensors");
        Assert.Equal(0, CliRunner.Run("quantize", input, "-o", tmp.Path).Code);
        (int code, _, string stderr) = CliRunner.Run("quantize", input, "-o", tmp.Path, "--tract-version", "0.21.10");
        Assert.Equal(2, code);
        Assert.Contains("--overwrite", stderr);
        Assert.Equal(0, CliRunner.Run("quantize", input, "-o", tmp.Path, "--tract-version", "0.21.10", "--overwrite").Code);
        Assert.Equal(File.ReadAllBytes(Golden.File("q40", "s32x32_f32_normal.tract-0.21.10.dat")), File.ReadAllBytes(tmp.File("weight.dat")));
    }

    [Fact]
    public void AnOutputPathHoldingAFolderIsRefusedBeforeAnythingIsWritten()
    {
        using var tmp = new TempDir();
        string input = tmp.File("m.safetensors");
        using Tensor a = Random(DType.F32, new Shape(2, 32), 4);
        using Tensor b = Random(DType.F32, new Shape(2, 32), 5);
        SafetensorsWriter.Write(input, [("a", a), ("b", b)]);
        string output = tmp.File("out");
        Directory.CreateDirectory(Path.Combine(output, "b.dat"));
        foreach (string[] extra in new[] { Array.Empty<string>(), ["--overwrite"] })
        {
            (int code, _, string stderr) = CliRunner.Run(["quantize", input, "-o", output, .. extra]);
            Assert.Equal(2, code);
            Assert.Contains("b.dat", stderr);
            Assert.False(File.Exists(Path.Combine(output, "a.dat")), stderr);
            Assert.Equal([Path.Combine(output, "b.dat")], Directory.GetFileSystemEntries(output));
        }
    }

    [Theory]
    [InlineData(new[] { "quantize", "x.safetensors" }, "option '--output' is required")]
    [InlineData(new[] { "quantize", "-o", "d" }, "required argument 'input' missing")]
    [InlineData(new[] { "quantize", "x", "-o", "d", "--tract-version", "zz" }, "not a tract version")]
    [InlineData(new[] { "quantize", "x", "-o", "d", "-c", "nope" }, "unknown compression method")]
    [InlineData(new[] { "quantize", "x", "-o", "d", "-c", "mse_opt_q4_0_all", "--percentile", "0.9" }, "min-max methods")]
    [InlineData(new[] { "quantize", "x", "-o", "d", "--percentile", "1.5" }, "(0, 1]")]
    [InlineData(new[] { "quantize", "x", "-o", "d", "--threads", "0" }, "positive integer")]
    public void BadUsageIsExitCode2(string[] args, string message)
    {
        (int code, _, string stderr) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
    }

    [Fact]
    public void MalformedInputIsAnErrorNamingTheFile()
    {
        using var tmp = new TempDir();
        string input = tmp.File("bad.safetensors");
        File.WriteAllBytes(input, [1, 2, 3]);
        (int code, _, string stderr) = CliRunner.Run("quantize", input, "-o", tmp.File("out"));
        Assert.Equal(CliApp.InputError, code);
        Assert.Contains("bad.safetensors", stderr);
        Assert.False(Directory.Exists(tmp.File("out")));
    }

    [Fact]
    public void EveryCalibrationRunsAndReportsItsError()
    {
        using var tmp = new TempDir();
        string input = tmp.File("m.safetensors");
        using Tensor w = Random(DType.BF16, new Shape(16, 128), 6);
        SafetensorsWriter.Write(input, [("w", w)]);
        foreach (string key in new[] { "grid_mse_q4_0_all", "ggml_q4_0_all", "mse_opt_q4_0_all" })
        {
            (int code, string stdout, string stderr) = CliRunner.Run("quantize", input, "-o", tmp.File(key), "-c", key, "--report");
            Assert.True(code == 0, stderr);
            Assert.Contains("rmse", stdout);
            Assert.True(File.Exists(tmp.File(key + "/w.dat")));
        }
    }

    private static Tensor Random(DType dtype, Shape shape, int seed)
    {
        var rng = new Random(seed);
        float[] v = new float[shape.ElementCount];
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = (float)(rng.NextDouble() - 0.5);
        }

        var t = Tensor.Allocate(dtype, shape);
        FloatConversions.FromSingle(dtype, v, ((OwnedTensorData)t.Data).Span);
        return t;
    }
}
