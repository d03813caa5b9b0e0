using System.Text.Json;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

/// <summary>The --json summaries, and the plain statements the text summaries make.</summary>
public class SummaryTests
{
    [Fact]
    public void AnInfiniteRelativeErrorIsWrittenAsInfinityNotAFailure()
    {
        // export-llm --json on a 1.1B checkpoint crashed here: an output element of 0 where the reference is not gives an
        // infinite relative error, which JSON has no number for.
        var summary = new CommandSummary { Command = "export-llm", Checks = [new OutputCheckSummary("prompt/logits", true, 0.25, double.PositiveInfinity, 0, 8, null)] };
        string json = JsonSerializer.Serialize(summary, SummaryJsonContext.Default.CommandSummary);
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement check = doc.RootElement.GetProperty("checks")[0];
        Assert.Equal("Infinity", check.GetProperty("max_rel_error").GetString());
        Assert.Equal(0.25, check.GetProperty("max_abs_error").GetDouble());
    }

    [Fact]
    public void CompressThatChangesNothingSaysSoWithTheArchiveSizes()
    {
        using var tmp = new TempDir();
        string input = Golden.File("export_cnn_q40", "model.nnef.tgz");
        string output = tmp.File("o.nnef.tgz");
        (int code, string text, _) = CliRunner.Run("compress", "-i", input, "-o", output, "-c", "min_max_q4_0");
        Assert.Equal(0, code);
        Assert.StartsWith("0 weights quantized: no eligible weight", text, StringComparison.Ordinal);

        (code, string json, _) = CliRunner.Run("compress", "-i", input, "-o", output, "-c", "min_max_q4_0", "--overwrite", "--json");
        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;
        Assert.Equal(0, root.GetProperty("quantized").GetInt32());
        Assert.Equal(new FileInfo(input).Length, root.GetProperty("bytes_before").GetInt64());
        Assert.Equal(new FileInfo(output).Length, root.GetProperty("bytes_after").GetInt64());
        Assert.Equal("min_max_q4_0", root.GetProperty("method").GetString());
    }

    [Fact]
    public void QuantizeJsonNamesTheMethodAsTypedAndEveryTensorWithReport()
    {
        using var tmp = new TempDir();
        string sample = Path.Combine(Golden.RepoRoot, "samples", "tiny-llama", "model.safetensors");
        (int code, string json, _) = CliRunner.Run("quantize", sample, "-o", tmp.File("out"), "--skip-ineligible", "-c", "grid_mse_q4_0_all", "--report", "--json");
        Assert.Equal(0, code);
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;
        Assert.Equal("grid_mse_q4_0_all", root.GetProperty("method").GetString());
        JsonElement[] tensors = [.. root.GetProperty("tensors").EnumerateArray()];
        int quantized = root.GetProperty("quantized").GetInt32();
        Assert.Equal(quantized, tensors.Count(t => t.GetProperty("action").GetString() == "quantized"));
        Assert.Equal(root.GetProperty("kept_float").GetInt32(), tensors.Count(t => t.GetProperty("action").GetString() == "kept-float"));
        long written = Directory.EnumerateFiles(tmp.File("out")).Sum(f => new FileInfo(f).Length);
        Assert.Equal(written, root.GetProperty("bytes_after").GetInt64());
        Assert.Equal(5, root.GetProperty("kept_float").GetInt32()); // the sample's norm weights, rank 1
        Assert.Equal(0, root.GetProperty("warnings").GetArrayLength());
        Assert.All(tensors.Where(t => t.GetProperty("action").GetString() == "quantized"), t => Assert.True(t.GetProperty("sqnr_db").GetDouble() > 0));
    }

    [Fact]
    public void VerifyInputsAreMatchedByNameAndAnUnknownNameIsAnError()
    {
        using var tmp = new TempDir();
        string folder = Golden.File("export_ptq_conv1d_q8");
        (int code, _, string err) = CliRunner.Run(
            "verify", Path.Combine(folder, "nnef"), "--input", "inptu=" + Path.Combine(folder, "input_input.npy"), "--out", tmp.File("o.npz"));
        Assert.Equal(CliApp.InputError, code);
        Assert.Contains("'inptu' matches no input", err, StringComparison.Ordinal);
        Assert.Contains("did you mean 'input'", err, StringComparison.Ordinal);
        Assert.False(File.Exists(tmp.File("o.npz")));
    }

    [Fact]
    public void VerifyJsonReportsEveryCheckAndPassesTheExitCode()
    {
        string folder = Golden.File("export_ptq_conv1d_q8");
        (int code, string json, _) = CliRunner.Run(
            "verify", Path.Combine(folder, "nnef"), "--input", "input=" + Path.Combine(folder, "input_input.npy"),
            "--output", "output=" + Path.Combine(folder, "output_output.npy"), "-tt", "exact", "--json");
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;
        Assert.Equal(code, root.GetProperty("exit_code").GetInt32());
        JsonElement[] checks = [.. root.GetProperty("checks").EnumerateArray()];
        Assert.Equal("output", Assert.Single(checks).GetProperty("name").GetString());
        Assert.Equal(code == 0, checks[0].GetProperty("passed").GetBoolean());
    }
}
