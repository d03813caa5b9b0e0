using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

public class ExportLlmCommandTests
{
    private static string Sample => Path.Combine(Golden.RepoRoot, "samples", "tiny-llama");

    /// <summary>The README's main command, as written there.</summary>
    [Fact]
    public void TheReadmeCommandExportsTheSampleToAVerifiedQ40Archive()
    {
        using var tmp = new TempDir();
        string export = tmp.File("tiny-llama-q40");
        string line = File.ReadLines(Path.Combine(Golden.RepoRoot, "README.md"))
            .First(l => l.StartsWith("dotnet run --project src/Cli -c Release -- export-llm ", StringComparison.Ordinal));
        string[] args = line["dotnet run --project src/Cli -c Release -- ".Length..].Split(' ');
        args[Array.IndexOf(args, "-d") + 1] = Sample;
        args[Array.IndexOf(args, "-e") + 1] = export;
        Assert.Equal(["export-llm", "-d", Sample, "-e", export, "-dt", "f16", "-f32-attn", "-c", "min_max_q4_0_all"], args);
        (int code, string stdout, string stderr) = CliRunner.Run(args);
        Assert.True(code == 0, stderr);
        Assert.Contains("verified against the reference forward pass", stdout);
        Assert.Matches("at '(exact|close|approximate|very|super|ultra)' in ", stdout); // tract's spelling of the level
        Assert.Contains(" s (", stdout); // the time and the rate are printed
        Graph g = NnefArchive.Read(Path.Combine(export, "model", "model.nnef.tgz"));
        Assert.Equal(DType.Q40, g.Variables.Values.Single(v => v.Label == "model.model.layers.0.self_attn.q_proj.weight").DType);
        Assert.Equal("f16", g.GetProperty("inputs_dtype"));
        Assert.Equal("min_max_q4_0_all", g.GetProperty("compression_register_key"));
        foreach (string mode in new[] { "prompt", "prompt_with_past", "text_generation", "export" })
        {
            Assert.True(File.Exists(Path.Combine(export, "tests", mode + "_io.npz")), mode);
        }

        Assert.True(File.Exists(Path.Combine(export, "modes.json")));
        Assert.True(Directory.Exists(Path.Combine(export, "tokenizer")));
    }

    [Fact]
    public void ASlugIsResolvedInTheLocalCacheAndNothingIsDownloaded()
    {
        using var tmp = new TempDir();
        string snapshot = Path.Combine(tmp.Path, "hub", "models--org--tiny", "snapshots", "abc123");
        Directory.CreateDirectory(snapshot);
        foreach (string f in Directory.GetFiles(Sample))
        {
            File.Copy(f, Path.Combine(snapshot, Path.GetFileName(f)));
        }

        Directory.CreateDirectory(Path.Combine(tmp.Path, "hub", "models--org--tiny", "refs"));
        File.WriteAllText(Path.Combine(tmp.Path, "hub", "models--org--tiny", "refs", "main"), "abc123");
        string? before = Environment.GetEnvironmentVariable("HF_HUB_CACHE");
        try
        {
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", Path.Combine(tmp.Path, "hub"));
            (int code, _, string stderr) = CliRunner.Run("export-llm", "-s", "org/tiny", "-e", tmp.File("out"), "--export-dir-struct", "flat", "-nv");
            Assert.True(code == 0, stderr);
            Assert.True(File.Exists(tmp.File("out/model.nnef.tgz")));
            Assert.Equal("org/tiny", NnefArchive.Read(tmp.File("out/model.nnef.tgz")).GetProperty("name_or_path"));

            (code, _, stderr) = CliRunner.Run("export-llm", "-s", "org/absent", "-e", tmp.File("out2"));
            Assert.NotEqual(0, code);
            Assert.Contains("hub", stderr, StringComparison.Ordinal);
            Assert.False(Directory.Exists(tmp.File("out2")));
        }
        finally
        {
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", before);
        }
    }

    [Theory]
    [InlineData("-c", "q4_bogus", "known:")]
    [InlineData("-dt", "bf16", "f32 or f16")]
    [InlineData("--export-dir-struct", "wide", "deep or flat")]
    [InlineData("-tt", "loose", "ultra")]
    [InlineData("-sgts", "1", ">= 2")]
    public void BadFlagsAreUsageErrorsAndWriteNothing(string flag, string value, string message)
    {
        using var tmp = new TempDir();
        (int code, _, string stderr) = CliRunner.Run("export-llm", "-d", Sample, "-e", tmp.File("out"), flag, value);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("out")));
    }

    [Fact]
    public void AnUnsupportedCheckpointFailsBeforeAnythingIsWritten()
    {
        using var tmp = new TempDir();
        string model = tmp.File("model");
        Directory.CreateDirectory(model);
        File.Copy(Path.Combine(Sample, "model.safetensors"), Path.Combine(model, "model.safetensors"));
        File.WriteAllText(Path.Combine(model, "config.json"), File.ReadAllText(Path.Combine(Sample, "config.json")).Replace("\"llama\"", "\"gpt_neox\"", StringComparison.Ordinal));
        (int code, _, string stderr) = CliRunner.Run("export-llm", "-d", model, "-e", tmp.File("out"));
        Assert.Equal(3, code); // an input error (exit codes: 1 is a failed check, 3 an unreadable or unsupported input)
        Assert.Contains("gpt_neox", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("out")));
    }

    [Fact]
    public void AnExistingExportFolderIsRefusedWithTheHintToPassIaed()
    {
        using var tmp = new TempDir();
        string export = tmp.File("out");
        (int code, _, string stderr) = CliRunner.Run("export-llm", "-d", Sample, "-e", export, "-nv");
        Assert.True(code == 0, stderr);
        (code, _, stderr) = CliRunner.Run("export-llm", "-d", Sample, "-e", export, "-nv");
        Assert.Equal(2, code);
        Assert.Contains("use -iaed to replace it", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("--overwrite", stderr, StringComparison.Ordinal);
        (code, _, stderr) = CliRunner.Run("export-llm", "-d", Sample, "-e", export, "-nv", "-iaed");
        Assert.True(code == 0, stderr);
    }

    [Fact]
    public void AFailedToleranceIsNamedAsTractSpellsIt()
    {
        using var tmp = new TempDir();
        (int code, _, string stderr) = CliRunner.Run("export-llm", "-d", Sample, "-e", tmp.File("out"), "-c", "min_max_q4_0_all", "-tt", "exact");
        Assert.Equal(1, code);
        Assert.Contains("at 'exact'", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Exact", stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("out")));
    }
}
