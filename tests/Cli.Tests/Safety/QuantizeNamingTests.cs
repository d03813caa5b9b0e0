using System.Text;
using System.Text.Json;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests.Safety;

/// <summary>
/// <c>t2n quantize</c> gives every tensor its own file, however its name looks, and writes the name-to-file index
/// whenever a file name is not simply the tensor name plus <c>.dat</c>.
/// </summary>
public class QuantizeNamingTests
{
    private const string IndexName = "tensor-files.json";

    [Fact]
    public void NamesThatSanitizeAlikeGetTheirOwnFilesAndAnIndex()
    {
        using var tmp = new TempDir();
        string input = tmp.File("m.safetensors");
        SafetyFixture.WriteSafetensors(input, "model/layer.weight", "model_layer.weight");
        string output = tmp.File("out");
        (int code, string stdout, string stderr) = CliRunner.Run("quantize", input, "-o", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("quantized 2 tensor(s)", stdout);

        Dictionary<string, string> index = ReadIndex(output);
        Assert.Equal(2, index.Count);
        Assert.NotEqual(index["model/layer.weight"], index["model_layer.weight"]);
        Assert.Equal(3, Directory.GetFiles(output).Length);

        // Each file holds its own tensor: the bytes a run on that tensor alone writes.
        AssertEachFileIsItsTensor(tmp, input, output, index);
        Assert.Contains("model/layer.weight", stdout);
        Assert.Contains(index["model/layer.weight"], stdout);
        Assert.Contains(IndexName, stdout);
    }

    [Fact]
    public void NamesDifferingOnlyByCaseNeverShareAFileName()
    {
        using var tmp = new TempDir();
        string input = tmp.File("m.safetensors");
        SafetyFixture.WriteSafetensors(input, "Layer.weight", "layer.weight", "LAYER.WEIGHT");
        string output = tmp.File("out");
        (int code, _, string stderr) = CliRunner.Run("quantize", input, "-o", output);
        Assert.True(code == 0, stderr);
        Dictionary<string, string> index = ReadIndex(output);
        Assert.Equal(3, index.Values.Select(v => v.ToUpperInvariant()).Distinct().Count());
        AssertEachFileIsItsTensor(tmp, input, output, index);
    }

    [Fact]
    public void HostileNamesStayInsideTheFolderAreCappedAndAreDeterministic()
    {
        string longA = new string('a', 300) + "/x";
        string longB = new string('a', 300) + "/y";
        string[] names = ["a/../b", "..", ".", "x\0y", "nul\0", ".hidden", "/abs", "con", "trailing.", longA, longB, new string('é', 400), "a\\b"];
        using var tmp = new TempDir();
        string input = tmp.File("m.safetensors");
        SafetyFixture.WriteSafetensors(input, names);

        (int code, _, string stderr) = CliRunner.Run("quantize", input, "-o", tmp.File("out1"));
        Assert.True(code == 0, stderr);
        Dictionary<string, string> index = ReadIndex(tmp.File("out1"));
        Assert.Equal(names.Order(StringComparer.Ordinal), index.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(names.Length, index.Values.Select(v => v.ToUpperInvariant()).Distinct().Count());
        foreach (string file in index.Values)
        {
            Assert.True(Encoding.UTF8.GetByteCount(file) <= 255, file);
            Assert.False(file.StartsWith('.'), file);
            Assert.True(file.IndexOfAny(['/', '\\', '\0']) < 0, file);
            Assert.EndsWith(".dat", file, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(tmp.File("out1"), file)), file);
        }

        Assert.Equal(names.Length + 1, Directory.GetFileSystemEntries(tmp.File("out1")).Length);
        Assert.Equal(["m.safetensors", "out1"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName).Order());

        // The same input gives the same names.
        Assert.Equal(0, CliRunner.Run("quantize", input, "-o", tmp.File("out2")).Code);
        Assert.Equal(File.ReadAllBytes(Path.Combine(tmp.File("out1"), IndexName)), File.ReadAllBytes(Path.Combine(tmp.File("out2"), IndexName)));
    }

    [Fact]
    public void NoIndexWhenEveryFileIsTheTensorName()
    {
        using var tmp = new TempDir();
        string input = tmp.File("m.safetensors");
        SafetyFixture.WriteSafetensors(input, "fc.weight", "fc2.weight");
        (int code, _, string stderr) = CliRunner.Run("quantize", input, "-o", tmp.File("out"));
        Assert.True(code == 0, stderr);
        Assert.Equal(["fc.weight.dat", "fc2.weight.dat"], Directory.GetFiles(tmp.File("out")).Select(Path.GetFileName).Order());
    }

    internal static Dictionary<string, string> ReadIndex(string folder)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, IndexName)));
        return doc.RootElement.GetProperty("files").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
    }

    private static void AssertEachFileIsItsTensor(TempDir tmp, string input, string output, Dictionary<string, string> index)
    {
        using var file = Formats.Safetensors.SafetensorsFile.Open(input);
        foreach ((string name, string fileName) in index)
        {
            using Tensor t = file.GetTensor(file.Entries.Single(e => e.Name == name));
            string single = tmp.File("single-" + Guid.NewGuid().ToString("N") + ".safetensors");
            Formats.Safetensors.SafetensorsWriter.Write(single, [("t", t)]);
            string singleOut = tmp.File("single-out-" + Guid.NewGuid().ToString("N"));
            Assert.Equal(0, CliRunner.Run("quantize", single, "-o", singleOut).Code);
            Assert.Equal(File.ReadAllBytes(Path.Combine(singleOut, "t.dat")), File.ReadAllBytes(Path.Combine(output, fileName)));
            using Tensor q = DatFile.Read(Path.Combine(output, fileName));
            Assert.Equal(t.Shape, q.Shape);
            File.Delete(single);
            Directory.Delete(singleOut, recursive: true);
        }
    }
}
