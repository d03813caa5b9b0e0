using System.Text.Json;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

public class InspectNnefTests
{
    [Fact]
    public void TextReportShowsVariablesQuantizationSignatureAndProperties()
    {
        (int code, string output, string err) = CliRunner.Run("inspect", Golden.File("export_ptq_conv1d_q8", "model.nnef.tgz"));
        Assert.True(code == 0, err);
        string[] lines = output.Split('\n');
        string row = Assert.Single(lines, l => l.StartsWith("cnn1__input_weight ", StringComparison.Ordinal));
        Assert.Equal(["cnn1__input_weight", "qi8", "[10, 10, 3]", "300"], row.Split("  ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("cnn1__input_bias    i32", output, StringComparison.Ordinal);
        Assert.Contains("input input: f32 [1, 10, 15]", output, StringComparison.Ordinal);
        // graph.quant values as written in the file.
        Assert.Contains("quant__input_quantize_per_tensor0: qu8 zero_point=131 scale=0.017354927957057953", output, StringComparison.Ordinal);
        Assert.Contains("cnn1__input_weight: qi8 zero_point=0 scale=0.0014284146018326283", output, StringComparison.Ordinal);
        Assert.Contains("    conv: 2", output, StringComparison.Ordinal);
        Assert.Contains("exported_py_class: PTQModel", output, StringComparison.Ordinal);
        Assert.Contains($"model.nnef.tgz: 4 tensors, {new FileInfo(Golden.File("export_ptq_conv1d_q8", "model.nnef.tgz")).Length:N0} bytes", output, StringComparison.Ordinal);
    }

    [Fact]
    public void JsonReportOfACompressedLlmMatchesTheArchive()
    {
        string dir = Golden.File("llm", "llama", "export_min_max_q4_0_with_embeddings", "model", "nnef");
        (int code, string output, string err) = CliRunner.Run("inspect", dir, "--json");
        Assert.True(code == 0, err);
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement root = doc.RootElement;
        Assert.Equal("nnef", root.GetProperty("kind").GetString());
        JsonElement graph = root.GetProperty("graph");

        JsonElement ids = graph.GetProperty("inputs")[0];
        Assert.Equal("input_ids", ids.GetProperty("name").GetString());
        Assert.Equal("i64", ids.GetProperty("dtype").GetString());
        Assert.Equal(["1", "S"], ids.GetProperty("shape").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["1", "2", "P", "16"], graph.GetProperty("inputs")[1].GetProperty("shape").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["S", "P"], graph.GetProperty("symbols").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(5, graph.GetProperty("assertions").GetArrayLength());

        // Operator counts of the graph body (spec ops-in-goldens.md §2.1, llama q4_0_with_embeddings column).
        var ops = graph.GetProperty("operators").EnumerateArray().ToDictionary(o => o.GetProperty("op").GetString()!, o => o.GetProperty("count").GetInt32());
        Assert.Equal(50, ops["slice"]);
        Assert.Equal(36, ops["tract_core_shape_of"]);
        Assert.Equal(15, ops["linear"]);
        Assert.Equal(23, ops["variable"]);
        Assert.True(graph.GetProperty("operators").EnumerateArray().Single(o => o.GetProperty("op").GetString() == "silu").GetProperty("fragment").GetBoolean());

        // Sizes and bits per weight from the .dat headers, independently of the inspector.
        long parameters = 0, bytes = 0, q40 = 0;
        foreach (string dat in Directory.EnumerateFiles(dir, "*.dat"))
        {
            byte[] head = File.ReadAllBytes(dat)[..DatHeader.Size];
            DatHeader h = DatHeader.Parse(head, dat, null);
            parameters += h.Shape.ElementCount;
            bytes += h.DataSize;
            q40 += h.DType == DType.Q40 ? h.Shape.ElementCount : 0;
        }

        JsonElement totals = root.GetProperty("totals");
        Assert.Equal(parameters, totals.GetProperty("parameters").GetInt64());
        Assert.Equal(bytes, totals.GetProperty("bytes").GetInt64());
        Assert.Equal(q40, graph.GetProperty("q40_parameters").GetInt64());
        Assert.Equal(8.0 * bytes / parameters, graph.GetProperty("bits_per_weight").GetDouble(), 9);
        Assert.Equal("llama", root.GetProperty("properties").GetProperty("hf_model_type").GetString());
        Assert.Contains(root.GetProperty("tensors").EnumerateArray(), t => t.GetProperty("dtype").GetString() == "q40");
    }

    [Fact]
    public void AGraphNnefPathAndABrokenArchiveAreHandled()
    {
        (int code, string output, _) = CliRunner.Run("inspect", Golden.File("export_cnn_f32", "nnef", "graph.nnef"));
        Assert.Equal(0, code);
        Assert.Contains("total: 17 tensors", output, StringComparison.Ordinal);

        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("bad.nnef.tgz"), "garbage");
        (int badCode, _, string err) = CliRunner.Run("inspect", tmp.File("bad.nnef.tgz"));
        Assert.Equal(CliApp.InputError, badCode);
        Assert.Contains("bad.nnef.tgz", err, StringComparison.Ordinal);
    }
}
