using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.OnnxTestSupport;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

public class ExportCommandTests
{
    private const OnnxDataType F = OnnxDataType.Float;

    [Fact]
    public void GoldenCnnExportsWithCheckIoAndVerifiesAgainstOnnxRuntime()
    {
        using var dir = new TempDir();
        string model = Golden.File("export_cnn_f32", "model.onnx");
        (int code, string output, string err) = CliRunner.Run("export", "-i", model, "-o", dir.File("cnn.nnef.tgz"), "--check-io");
        Assert.True(code == 0, err);
        Assert.Contains("check-io ok output", output, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.File("cnn.nnef.tgz")));

        Tensor x = Random([1, 3, 16, 16], 3);
        Dictionary<string, Tensor> expected = OnnxRuntimeOracle.Run(model, new Dictionary<string, Tensor> { ["input"] = x });
        IoBundle.WriteNpz(dir.File("io.npz"), [new NamedTensor("input", TensorValue.FromTensor(x)), new NamedTensor("output", TensorValue.FromTensor(expected["output"]))]);
        (code, output, err) = CliRunner.Run("verify", dir.File("cnn.nnef.tgz"), "--io", dir.File("io.npz"));
        Assert.True(code == 0, output + err);
    }

    [Fact]
    public void FreeFormNamesAreSanitizedAndBundlesKeyedByOnnxNamesVerify()
    {
        using var dir = new TempDir();
        var m = new OnnxModelBuilder(13);
        m.Graph.Input("x.1", F, 2, 3).Input("onnx::Mul_0", F, 2, 3)
            .Node("Mul", ["x.1", "onnx::Mul_0"], ["13"]).Output("13", F, 2, 3);
        string model = m.Save(dir.File("m.onnx"));
        (int code, string output, string err) = CliRunner.Run("export", "-i", model, "-o", dir.File("m.nnef"));
        Assert.True(code == 0, err);
        Assert.Contains("renamed: 'x.1' -> x_1", output, StringComparison.Ordinal);
        Assert.Contains("renamed: 'onnx::Mul_0' -> onnx__Mul_0", output, StringComparison.Ordinal);
        Assert.Contains("renamed: '13' -> v13", output, StringComparison.Ordinal);
        Assert.Contains("x_1", File.ReadAllText(Path.Combine(dir.File("m.nnef"), "graph.nnef")), StringComparison.Ordinal);

        var inputs = new Dictionary<string, Tensor> { ["x.1"] = Random([2, 3], 1), ["onnx::Mul_0"] = Random([2, 3], 2) };
        Tensor y = OnnxRuntimeOracle.Run(model, inputs)["13"];
        IoBundle.WriteNpz(dir.File("io.npz"), [.. inputs.Select(kv => new NamedTensor(kv.Key, TensorValue.FromTensor(kv.Value))), new NamedTensor("13", TensorValue.FromTensor(y))]);
        (code, output, err) = CliRunner.Run("verify", dir.File("m.nnef"), "--io", dir.File("io.npz"));
        Assert.True(code == 0, output + err);

        // A plain run with inputs keyed by ONNX names writes outputs keyed by ONNX names.
        (code, output, err) = CliRunner.Run("verify", dir.File("m.nnef"), "--inputs", dir.File("io.npz"), "--out", dir.File("out.npz"));
        Assert.True(code == 0, output + err);
        NamedTensor written = Assert.Single(IoBundle.ReadNpz(dir.File("out.npz")));
        Assert.Equal("13", written.Name);
        Assert.Equal(y.ToFloatArray(), written.Value.ToFloats());
    }

    [Fact]
    public void FrozenInputsFoldAndAreCheckedByVerify()
    {
        using var dir = new TempDir();
        var m = new OnnxModelBuilder(13);
        m.Graph.Input("x", F, 2, 3).Input("gain", F, 1)
            .Node("Mul", ["x", "gain"], ["y"]).Output("y", F, 2, 3);
        string model = m.Save(dir.File("m.onnx"));
        (int code, string output, string err) = CliRunner.Run("export", "-i", model, "-o", dir.File("m.nnef.tgz"), "--input-value", "gain=2.5");
        Assert.True(code == 0, err);
        Assert.Contains("frozen", output, StringComparison.Ordinal);

        Tensor x = Random([2, 3], 4);
        float[] y = [.. x.ToFloatArray().Select(v => v * 2.5f)];
        NamedTensor xin = new("x", TensorValue.FromTensor(x));
        NamedTensor yout = new("y", TensorValue.F32([2, 3], y));
        IoBundle.WriteNpz(dir.File("same.npz"), [xin, new NamedTensor("gain", TensorValue.F32([1], [2.5f])), yout]);
        (code, output, err) = CliRunner.Run("verify", dir.File("m.nnef.tgz"), "--io", dir.File("same.npz"));
        Assert.True(code == 0, output + err);

        IoBundle.WriteNpz(dir.File("other.npz"), [xin, new NamedTensor("gain", TensorValue.F32([1], [3f])), yout]);
        (code, output, err) = CliRunner.Run("verify", dir.File("m.nnef.tgz"), "--io", dir.File("other.npz"));
        Assert.NotEqual(0, code);
        Assert.Contains("frozen at export", err + output, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsupportedOperatorsFailBeforeWritingAndListEveryOne()
    {
        using var dir = new TempDir();
        var m = new OnnxModelBuilder(13);
        m.Graph.Input("x", F, 4, 4)
            .NamedNode("inv", "Det", ["x"], ["d"], [])
            .NamedNode("hist", "Unique", ["x"], ["u"], [])
            .NamedNode("sum", "Add", ["d", "u"], ["y"], []).Output("y", F, null);
        string model = m.Save(dir.File("m.onnx"));
        (int code, string output, string err) = CliRunner.Run("export", "-i", model, "-o", dir.File("m.nnef.tgz"));
        Assert.NotEqual(0, code);
        Assert.Contains("Det (1 node: 'inv')", err, StringComparison.Ordinal);
        Assert.Contains("Unique (1 node: 'hist')", err, StringComparison.Ordinal);
        Assert.False(File.Exists(dir.File("m.nnef.tgz")));
        Assert.Equal(["m.onnx"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Q40ExportOfARealModelShrinksTheArchive()
    {
        using var dir = new TempDir();
        string model = RealModels.Get("hello_deepa");
        (int code, _, string err) = CliRunner.Run("export", "-i", model, "-o", dir.File("f32.nnef.tgz"));
        Assert.True(code == 0, err);
        (code, string output, err) = CliRunner.Run("export", "-i", model, "-o", dir.File("q40.nnef.tgz"), "-c", "min_max_q4_0", "--check-io");
        Assert.True(code == 0, err);
        Assert.Contains("to Q4_0", output, StringComparison.Ordinal);
        Assert.True(new FileInfo(dir.File("q40.nnef.tgz")).Length < new FileInfo(dir.File("f32.nnef.tgz")).Length / 3);
    }

    [Fact]
    public void BadOptionsAreUsageErrors()
    {
        using var dir = new TempDir();
        string model = Golden.File("export_cnn_f32", "model.onnx");
        Assert.Equal(2, CliRunner.Run("export", "-i", model, "-o", dir.File("a.tgz"), "--input-shape", "input=1,x").Code);
        Assert.Equal(2, CliRunner.Run("export", "-i", model, "-o", dir.File("a.tgz"), "-c", "nope").Code);
        Assert.Equal(2, CliRunner.Run("export", "-i", model, "-o", dir.File("a.tgz"), "--tolerance", "close").Code);
        (int code, _, string err) = CliRunner.Run("export", "-i", model, "-o", dir.File("a.tgz"), "--input-shape", "nosuch=1,2");
        Assert.NotEqual(0, code);
        Assert.Contains("no input 'nosuch'", err, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    private static Tensor Random(long[] shape, int seed)
    {
        var rng = new Random(seed);
        long n = shape.Aggregate(1L, (a, b) => a * b);
        return Tensor.FromFloats(new Shape(shape), [.. Enumerable.Range(0, (int)n).Select(_ => (rng.NextSingle() * 2) - 1)]);
    }
}
