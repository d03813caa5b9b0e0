using System.Text.Json;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.SampleGen;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

public class InspectCommandTests
{
    private static string Sample => Path.Combine(Golden.RepoRoot, "samples", "tiny-llama");

    // Parameters of a Llama decoder, by hand: embeddings and lm_head, per layer q/k/v/o, gate/up/down and two
    // norms, and the final norm.
    private const int H = TinyLlamaSample.Hidden, I = TinyLlamaSample.Intermediate, V = TinyLlamaSample.Vocab;
    private const int Kv = TinyLlamaSample.KvHeads * (H / TinyLlamaSample.Heads);
    private const long SampleParameters = 2L * V * H + TinyLlamaSample.Layers * (2L * H * H + 2L * Kv * H + 3L * H * I + 2 * H) + H;

    [Fact]
    public void TextReportListsEveryTensorTotalsAndConfig()
    {
        (int code, string output, string err) = CliRunner.Run("inspect", Sample);
        Assert.Equal(0, code);
        Assert.Empty(err);

        string[] lines = output.Split('\n');
        using SafetensorsFile file = SafetensorsFile.Open(Path.Combine(Sample, "model.safetensors"));
        Assert.Equal(2 + 9 * TinyLlamaSample.Layers + 1, file.Entries.Count);
        foreach (SafetensorsEntry e in file.Entries)
        {
            string row = Assert.Single(lines, l => l.StartsWith(e.Name + " ", StringComparison.Ordinal));
            string[] cells = row.Split("  ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.Equal([e.Name, "f32", "[" + string.Join(", ", e.Shape.ToArray()) + "]", (e.ElementCount * 4).ToString()], cells);
        }

        Assert.Contains($"total: 21 tensors, {SampleParameters:N0} parameters, {SampleParameters * 4:N0} bytes", output, StringComparison.Ordinal);
        Assert.Contains($"  f32: 21 tensors, {SampleParameters:N0} parameters", output, StringComparison.Ordinal);
        foreach (string expected in new[] { "model_type: llama", "hidden_size: 64", "layers: 2", "attention_heads: 4", "kv_heads: 2", "vocab_size: 256", "tie_word_embeddings: false", "rope: rope_theta=10000.0", "metadata format=pt" })
        {
            Assert.Contains(expected, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void JsonReportCarriesTheSameFactsAsTheFiles()
    {
        (int code, string output, _) = CliRunner.Run("inspect", Sample, "--json");
        Assert.Equal(0, code);
        using JsonDocument report = JsonDocument.Parse(output);
        JsonElement root = report.RootElement;
        Assert.Equal("safetensors", root.GetProperty("kind").GetString());
        Assert.Equal(SampleParameters, root.GetProperty("totals").GetProperty("parameters").GetInt64());
        Assert.Equal(SampleParameters * 4, root.GetProperty("totals").GetProperty("bytes").GetInt64());
        Assert.Equal(21, root.GetProperty("tensors").GetArrayLength());
        JsonElement first = root.GetProperty("tensors")[0];
        Assert.Equal("lm_head.weight", first.GetProperty("name").GetString());
        Assert.Equal([256L, 64L], first.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));

        // The config section agrees with config.json field by field.
        using JsonDocument config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Sample, "config.json")));
        JsonElement summary = root.GetProperty("config");
        foreach (string key in new[] { "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "vocab_size", "head_dim" })
        {
            Assert.Equal(config.RootElement.GetProperty(key).GetInt64(), summary.GetProperty(key).GetInt64());
        }

        Assert.Equal("llama", summary.GetProperty("model_type").GetString());
        Assert.False(summary.GetProperty("tie_word_embeddings").GetBoolean());
    }

    [Fact]
    public void GoldenCheckpointsReportTheirConfigIncludingRopeParameters()
    {
        Assert.NotEmpty(GoldenManifest.LlmModels);
        foreach (string hf in GoldenManifest.LlmModels.Select(m => Golden.File("llm", m, "hf")))
        {
            (int code, string output, string err) = CliRunner.Run("inspect", hf, "--json");
            Assert.True(code == 0, err);
            using JsonDocument report = JsonDocument.Parse(output);
            using JsonDocument config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(hf, "config.json")));
            JsonElement summary = report.RootElement.GetProperty("config");
            Assert.Equal(config.RootElement.GetProperty("tie_word_embeddings").GetBoolean(), summary.GetProperty("tie_word_embeddings").GetBoolean());
            Assert.Equal(config.RootElement.GetProperty("model_type").GetString(), summary.GetProperty("model_type").GetString());
            if (config.RootElement.TryGetProperty("rope_parameters", out JsonElement rope))
            {
                Assert.Equal(rope.GetProperty("rope_type").GetString(), summary.GetProperty("rope").GetProperty("rope_type").GetString());
                Assert.Equal(rope.GetProperty("rope_theta").GetRawText(), summary.GetProperty("rope").GetProperty("rope_theta").GetString());
            }

            using SafetensorsFile file = SafetensorsFile.Open(Path.Combine(hf, "model.safetensors"));
            Assert.Equal(file.Entries.Sum(e => e.ElementCount), report.RootElement.GetProperty("totals").GetProperty("parameters").GetInt64());
        }
    }

    [Fact]
    public void ShardedCheckpointShowsTheShardOfEachTensor()
    {
        using var dir = new TempDir();
        using Tensor a = Tensor.FromFloats(Shape.Of(2, 3), new float[6]);
        using Tensor b = Tensor.FromSpan<ushort>(DType.BF16, Shape.Of(4), new ushort[4]);
        SafetensorsWriter.Write(dir.File("model-00001-of-00002.safetensors"), [("a", a)]);
        SafetensorsWriter.Write(dir.File("model-00002-of-00002.safetensors"), [("b", b)]);
        File.WriteAllText(dir.File("model.safetensors.index.json"),
            """{"metadata":{"total_size":32},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}""");

        (int code, string output, _) = CliRunner.Run("inspect", dir.Path);
        Assert.Equal(0, code);
        Assert.Contains("safetensors, 2 files", output, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^a\s+f32\s+\[2, 3\]\s+24  model-00001-of-00002\.safetensors$", output.Replace("\r", string.Empty));
        Assert.Matches(@"(?m)^b\s+bf16\s+\[4\]\s+8  model-00002-of-00002\.safetensors$", output.Replace("\r", string.Empty));
        Assert.Contains("total: 2 tensors, 10 parameters, 32 bytes", output, StringComparison.Ordinal);
        Assert.Contains("  f32: 1 tensor, 6 parameters, 24 bytes", output, StringComparison.Ordinal);
        Assert.Contains("  bf16: 1 tensor, 4 parameters, 8 bytes", output, StringComparison.Ordinal);
    }

    [Fact]
    public void BadInputGivesOneLineErrorAndExitCodeThree()
    {
        using var dir = new TempDir();
        string bad = dir.File("bad.safetensors");
        File.WriteAllBytes(bad, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]);
        (int code, string output, string err) = CliRunner.Run("inspect", bad);
        Assert.Equal(CliApp.InputError, code);
        Assert.Empty(output);
        Assert.Equal($"t2n inspect: error: {bad}: header length 9223372036854775807 exceeds the limit of 100000000 bytes{Environment.NewLine}", err);

        string text = dir.File("notes.txt");
        File.WriteAllText(text, "hello");
        (code, _, err) = CliRunner.Run("inspect", text);
        Assert.Equal(CliApp.InputError, code);
        Assert.Equal($"t2n inspect: error: {text}: not a recognized input (expected a .safetensors file, a checkpoint directory, an NNEF archive or an ONNX model){Environment.NewLine}", err);

        (code, _, err) = CliRunner.Run("inspect", dir.File("missing"));
        Assert.Equal(CliApp.InputError, code);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [Theory]
    [InlineData(new string[0], "required argument 'path' missing")]
    [InlineData(new[] { "a", "b" }, "unknown argument 'b'")]
    [InlineData(new[] { "a", "--frob" }, "unknown option '--frob'")]
    public void UsageErrorsExitWithTwo(string[] args, string message)
    {
        (int code, _, string err) = CliRunner.Run(["inspect", .. args]);
        Assert.Equal(CliApp.UsageError, code);
        Assert.StartsWith($"t2n inspect: {message}", err, StringComparison.Ordinal);
    }
}
