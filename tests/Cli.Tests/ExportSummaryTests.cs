using System.Text.Json;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

/// <summary>The exporters under System.CommandLine: every reference spelling parses, and --json is one summary.</summary>
public class ExportSummaryTests
{
    private static string Sample => Path.Combine(Golden.RepoRoot, "samples", "tiny-llama");

    [Fact]
    public void ExportLlmJsonSummaryAgreesWithTheFolderItWrote()
    {
        using var tmp = new TempDir();
        string export = tmp.File("out");
        (int code, string json, string err) = CliRunner.Run("export-llm", "-d", Sample, "-e", export, "-c", "min_max_q4_0_all", "--json");
        Assert.True(code == 0, err);
        using JsonDocument doc = JsonDocument.Parse(json); // stdout holds the summary and nothing else
        JsonElement root = doc.RootElement;
        Assert.Equal("export-llm", root.GetProperty("command").GetString());
        Assert.Equal("ok", root.GetProperty("status").GetString());
        Assert.Equal("min_max_q4_0_all", root.GetProperty("method").GetString());
        Assert.Equal(Path.GetFullPath(export), Path.GetFullPath(Assert.Single(root.GetProperty("outputs").EnumerateArray()).GetString()!));
        long written = Directory.EnumerateFiles(export, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.Equal(written, root.GetProperty("bytes_after").GetInt64());
        Graph g = NnefArchive.Read(Path.Combine(export, "model", "model.nnef.tgz"));
        Assert.Equal(g.Variables.Values.Count(v => v.DType == DType.Q40), root.GetProperty("quantized").GetInt32());
        JsonElement[] checks = [.. root.GetProperty("checks").EnumerateArray()];
        Assert.NotEmpty(checks);
        Assert.All(checks, c => Assert.True(c.GetProperty("passed").GetBoolean()));
        Assert.Contains(checks, c => c.GetProperty("name").GetString()!.StartsWith("prompt/", StringComparison.Ordinal));
    }

    [Fact]
    public void ExportLlmTakesEveryReferenceSpellingAndIaedReplacesItsOwnExport()
    {
        using var tmp = new TempDir();
        string export = tmp.File("out");
        string[] args =
        [
            "export-llm", "-d", Sample, "--export-dirpath", export, "--force-module-dtype", "f32", "-dwtac", "--num-logits-to-keep", "0",
            "--threads", "1", "--tract-specific-version", "0.21.13", "-nv",
        ];
        (int code, _, string err) = CliRunner.Run(args);
        Assert.True(code == 0, err);
        Assert.True(File.Exists(Path.Combine(export, "model", "model.nnef.tgz")));

        // The folder exists now: refused without -iaed, replaced with it.
        (code, _, err) = CliRunner.Run(args);
        Assert.NotEqual(0, code);
        (code, _, err) = CliRunner.Run([.. args, "-iaed"]);
        Assert.True(code == 0, err);
        (code, _, err) = CliRunner.Run([.. args.Where(a => a != "-nv"), "--ignore-already-exist-dir", "--no-verify", "-f32-attn", "-tt", "close", "-sgts", "3"]);
        Assert.True(code == 0, err);
    }

    [Fact]
    public void ExportLlmErrorJsonCarriesTheInputErrorCode()
    {
        using var tmp = new TempDir();
        (int code, string json, _) = CliRunner.Run("export-llm", "-d", tmp.File("absent"), "-e", tmp.File("out"), "--json");
        Assert.Equal(CliApp.InputError, code);
        using JsonDocument doc = JsonDocument.Parse(json);
        Assert.Equal("error", doc.RootElement.GetProperty("status").GetString());
        Assert.Equal(CliApp.InputError, doc.RootElement.GetProperty("exit_code").GetInt32());
        Assert.False(Directory.Exists(tmp.File("out")));
    }

    [Fact]
    public void ExportJsonSummaryNamesSizesQuantizedWeightsAndChecks()
    {
        using var dir = new TempDir();
        string model = Golden.File("export_cnn_f32", "model.onnx");
        string output = dir.File("q40.nnef.tgz");
        (int code, string json, string err) = CliRunner.Run("export", "-i", model, "-o", output, "-c", "min_max_q4_0", "--check-io", "--json");
        Assert.True(code == 0, err);
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement root = doc.RootElement;
        Assert.Equal("export", root.GetProperty("command").GetString());
        Assert.Equal("min_max_q4_0", root.GetProperty("method").GetString());
        Assert.Equal(new FileInfo(model).Length, root.GetProperty("bytes_before").GetInt64());
        Assert.Equal(new FileInfo(output).Length, root.GetProperty("bytes_after").GetInt64());
        Graph g = NnefArchive.Read(output);
        Assert.Equal(g.Variables.Values.Count(v => v.DType == DType.Q40), root.GetProperty("quantized").GetInt32());
        Assert.True(root.GetProperty("quantized").GetInt32() > 0);
        JsonElement[] checks = [.. root.GetProperty("checks").EnumerateArray()];
        Assert.Equal("output", Assert.Single(checks).GetProperty("name").GetString());
        Assert.True(checks[0].GetProperty("passed").GetBoolean());
    }
}
