using System.Text.Json;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

public class CliAppTests
{
    [Fact]
    public void HelpListsEveryCommandAndTheExitCodesAndSucceeds()
    {
        (int code, string output, string err) = CliRunner.Run("--help");
        Assert.Equal(0, code);
        Assert.Empty(err);
        Assert.Contains("t2n [command] [options]", output, StringComparison.Ordinal);
        foreach (ICommand c in CommandCatalog.All)
        {
            Assert.Contains($"  {c.Name}", output, StringComparison.Ordinal);
            Assert.Contains(c.Summary, output, StringComparison.Ordinal);
        }

        Assert.Contains("Exit codes:", output, StringComparison.Ordinal);
        Assert.Contains("3   input or I/O error", output, StringComparison.Ordinal);
    }

    [Fact]
    public void NoArgumentsPrintsHelpAsAUsageError()
    {
        (int code, string output, _) = CliRunner.Run();
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains("t2n [command] [options]", output, StringComparison.Ordinal);
    }

    [Fact]
    public void VersionNamesTheVersionCommitRuntimeAndKernel()
    {
        (int code, string output, _) = CliRunner.Run("--version");
        Assert.Equal(0, code);
        string[] lines = output.TrimEnd().Split(Environment.NewLine);
        Assert.Equal("t2n 0.1.0", lines[0]);
        Assert.StartsWith("commit: ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("runtime: .NET ", lines[2], StringComparison.Ordinal);
        Assert.Contains("JIT", lines[2], StringComparison.Ordinal); // the tests run on the JIT
        Assert.Equal($"q40 kernel: {Quant.Kernels.Q40Kernels.Active} (this CPU runs: {string.Join(", ", Quant.Kernels.Q40Kernels.SupportedKinds)})", lines[3]);
    }

    [Fact]
    public void UnknownCommandIsAUsageErrorWithASuggestion()
    {
        (int code, _, string err) = CliRunner.Run("frobnicate");
        Assert.Equal(CliApp.UsageError, code);
        Assert.Equal("t2n: unknown command 'frobnicate'. Run 't2n --help'." + Environment.NewLine, err);

        (code, _, err) = CliRunner.Run("inspcet", "x");
        Assert.Equal(CliApp.UsageError, code);
        Assert.Equal("t2n: unknown command 'inspcet' (did you mean 'inspect'?). Run 't2n --help'." + Environment.NewLine, err);
    }

    [Fact]
    public void AMistypedOptionGetsTheClosestSpellingAndNoHelpReprint()
    {
        (int code, string output, string err) = CliRunner.Run("quantize", "in.safetensors", "--ouptut", "dir");
        Assert.Equal(CliApp.UsageError, code);
        Assert.Empty(output);
        Assert.Equal("t2n quantize: unknown option '--ouptut' (did you mean '--output'?). Run 't2n quantize --help'." + Environment.NewLine, err);
    }

    [Fact]
    public void CommandHelpIsGeneratedFromTheOptionsWithReferenceSpellings()
    {
        (int code, string output, _) = CliRunner.Run("verify", "--help");
        Assert.Equal(0, code);
        Assert.Contains("t2n verify <archive> [options]", output, StringComparison.Ordinal);
        Assert.Contains("-t, -tt, --tolerance, --tract-check-io-tolerance <level>", output, StringComparison.Ordinal);
        Assert.Contains("Details:", output, StringComparison.Ordinal);
        Assert.Contains("Exit codes:", output, StringComparison.Ordinal);
    }

    [Fact]
    public void AResponseFileSuppliesArguments()
    {
        using var tmp = new TempDir();
        string rsp = tmp.File("args.rsp");
        File.WriteAllLines(rsp, ["inspect", Path.Combine(Golden.RepoRoot, "samples", "tiny-llama")]);
        (int code, string viaFile, _) = CliRunner.Run("@" + rsp);
        (int direct, string expected, _) = CliRunner.Run("inspect", Path.Combine(Golden.RepoRoot, "samples", "tiny-llama"));
        Assert.Equal(0, code);
        Assert.Equal(0, direct);
        Assert.Equal(expected, viaFile);
    }

    [Fact]
    public void AnErrorUnderJsonIsStillOneSummaryOnStdoutAndOneLineOnStderr()
    {
        using var tmp = new TempDir();
        string missing = tmp.File("missing.safetensors");
        (int code, string output, string err) = CliRunner.Run("quantize", missing, "-o", tmp.File("out"), "--json");
        Assert.Equal(CliApp.InputError, code);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.Contains(missing, err, StringComparison.Ordinal);
        using JsonDocument doc = JsonDocument.Parse(output);
        Assert.Equal("quantize", doc.RootElement.GetProperty("command").GetString());
        Assert.Equal("error", doc.RootElement.GetProperty("status").GetString());
        Assert.Equal(CliApp.InputError, doc.RootElement.GetProperty("exit_code").GetInt32());
        Assert.Equal(err.TrimEnd(), doc.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public void QuietPrintsNothingOnSuccess()
    {
        using var tmp = new TempDir();
        string sample = Path.Combine(Golden.RepoRoot, "samples", "tiny-llama", "model.safetensors");
        (int code, string output, string err) = CliRunner.Run("quantize", sample, "-o", tmp.File("out"), "--skip-ineligible", "--quiet");
        Assert.Equal(0, code);
        Assert.Empty(output);
        Assert.Empty(err);
        Assert.True(File.Exists(tmp.File(Path.Combine("out", "lm_head.weight.dat"))));
    }

    [Theory]
    [InlineData("no such file")]
    public void AMissingInputIsNamedInOurWords(string reason)
    {
        using var tmp = new TempDir();
        string missing = tmp.File("nope.safetensors");
        (int code, _, string err) = CliRunner.Run("quantize", missing, "-o", tmp.File("out"));
        Assert.Equal(CliApp.InputError, code);
        Assert.DoesNotContain("Could not find", err, StringComparison.Ordinal);
        Assert.Contains(missing, err, StringComparison.Ordinal);
        Assert.Contains(reason, err, StringComparison.Ordinal);
    }

    [Fact]
    public void AnOutputThatCannotBeCreatedIsNamedNotItsTemporary()
    {
        using var tmp = new TempDir();
        string blocker = tmp.File("file");
        File.WriteAllText(blocker, "x");
        string sample = Golden.File("export_cnn_f32", "model.nnef.tgz");
        string output = Path.Combine(blocker, "sub", "out.nnef.tgz");
        (int code, _, string err) = CliRunner.Run("compress", "-i", sample, "-o", output, "-c", "min_max_q4_0");
        Assert.True(code is CliApp.InputError or CliApp.UsageError, err);
        Assert.DoesNotContain(".t2n-", err, StringComparison.Ordinal); // TempNames.Prefix
        Assert.Contains(blocker, err, StringComparison.Ordinal);
        Assert.Single(err.TrimEnd().Split('\n'));
    }
}
