namespace TorchToNnef.Cli.Tests;

public class CliAppTests
{
    [Fact]
    public void HelpListsEveryCommandAndSucceeds()
    {
        (int code, string output, string err) = CliRunner.Run("--help");
        Assert.Equal(0, code);
        Assert.Empty(err);
        Assert.Contains("Usage: t2n <command> [options]", output, StringComparison.Ordinal);
        foreach (ICommand c in CommandCatalog.All)
        {
            Assert.Contains($"  {c.Name}", output, StringComparison.Ordinal);
        }

        Assert.Contains(CommandCatalog.All, c => c.Name == "inspect");
    }

    [Fact]
    public void NoArgumentsPrintsHelpAsAUsageError()
    {
        (int code, string output, _) = CliRunner.Run();
        Assert.Equal(CliApp.UsageError, code);
        Assert.Contains("Usage: t2n", output, StringComparison.Ordinal);
    }

    [Fact]
    public void VersionIsTheProjectVersion()
    {
        (int code, string output, _) = CliRunner.Run("--version");
        Assert.Equal(0, code);
        Assert.Equal("t2n 0.1.0" + Environment.NewLine, output);
    }

    [Fact]
    public void UnknownCommandIsAUsageError()
    {
        (int code, _, string err) = CliRunner.Run("frobnicate");
        Assert.Equal(CliApp.UsageError, code);
        Assert.Equal("t2n: unknown command 'frobnicate'. Run 't2n --help'." + Environment.NewLine, err);
    }

    [Fact]
    public void CommandHelpPrintsItsUsage()
    {
        (int code, string output, _) = CliRunner.Run("inspect", "--help");
        Assert.Equal(0, code);
        Assert.StartsWith("Usage: t2n inspect <path> [--json]", output, StringComparison.Ordinal);
    }
}
