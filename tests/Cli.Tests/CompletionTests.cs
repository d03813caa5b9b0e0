using System.Diagnostics;
using TorchToNnef.Cli.Commands;
using TorchToNnef.Quant.Registry;

namespace TorchToNnef.Cli.Tests;

/// <summary>
/// Shell completion: t2n answers System.CommandLine's <c>[suggest:N]</c> directive (what dotnet-suggest and the scripts of
/// <c>t2n completions</c> call) with the candidates for the word at the cursor, and the bash script turns them into
/// COMPREPLY (falling back to file names where t2n has none).
/// </summary>
public class CompletionTests
{
    private static string[] Suggest(string line)
    {
        (int code, string output, string err) = CliRunner.Run($"[suggest:{line.Length}]", line);
        Assert.True(code == 0, err);
        Assert.Empty(err);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    [Fact]
    public void APartialCommandCompletesToTheCommandsItStarts()
    {
        Assert.Equal(["export", "export-llm"], Suggest("exp"));
        Assert.Equal(["completions", "compress"], Suggest("comp"));
        string[] all = Suggest(string.Empty);
        foreach (ICommand c in CommandCatalog.All)
        {
            Assert.Contains(c.Name, all);
        }
    }

    [Fact]
    public void APartialOptionCompletesToThatCommandsOptions()
    {
        Assert.Equal(["--threads", "--tolerance", "--tract-check-io-tolerance"], Suggest("verify model.nnef.tgz --t"));
        Assert.Equal(["--tolerance"], Suggest("verify model.nnef.tgz --to"));
        Assert.Equal(["--compression", "--compression-level", "--compression-method"], Suggest("compress -i a.nnef.tgz --compr"));

        // Options of another command are not offered.
        Assert.DoesNotContain("--check-io", Suggest("compress --"));
        Assert.Contains("--check-io", Suggest("export --"));
    }

    [Fact]
    public void OptionValuesCompleteFromWhatTheCommandAccepts()
    {
        Assert.Equal([.. CompressionRegistry.Default.Keys.Order(StringComparer.Ordinal)], Suggest("compress -i a -o b -c "));
        Assert.Equal(["approximate"], Suggest("export --check-io -t app"));
        Assert.Equal(["f16", "f32"], Suggest("export-llm -d x -dt "));
        // A positional argument: its values, next to the options (which the scripts offer only after a '-').
        Assert.Equal(["bash", "pwsh", "zsh"], Suggest("completions ").Where(c => c[0] is not ('-' or '/')));
        Assert.Equal(["zsh"], Suggest("completions z"));
    }

    [Fact]
    public void EachShellGetsAScriptThatAsksT2nThroughTheSuggestDirective()
    {
        foreach (string shell in CompletionsCommand.Shells)
        {
            (int code, string output, string err) = CliRunner.Run("completions", shell);
            Assert.True(code == 0, err);
            Assert.Contains("[suggest:", output, StringComparison.Ordinal);
            Assert.DoesNotContain("\r", output, StringComparison.Ordinal);
        }

        (int bad, _, string error) = CliRunner.Run("completions", "fish");
        Assert.Equal(CliApp.UsageError, bad);
        Assert.Contains("unknown shell 'fish'", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheBashScriptCompletesThroughT2nAndLeavesPathsToTheShell()
    {
        // bash runs the script as a user's shell would, with t2n being the t2n.dll built next to the tests.
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        string dll = Path.Combine(AppContext.BaseDirectory, "t2n.dll");
        const string Script = """
            t2n() { "$T2N_DOTNET" "$T2N_DLL" "$@"; }
            eval "$(t2n completions bash)"
            ask() {
                COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
                read -r -a COMP_WORDS <<< "$COMP_LINE"
                if [[ "$COMP_LINE" == *" " ]]; then COMP_WORDS+=(""); fi
                COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
                _t2n_complete
                echo "$1|${COMPREPLY[*]}"
            }
            ask "t2n exp"
            ask "t2n verify a.nnef.tgz --to"
            ask "t2n compress -c min"
            ask "t2n inspect "
            ask "t2n inspect sam"
            complete -p t2n
            """;
        var psi = new ProcessStartInfo("bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--norc");
        psi.ArgumentList.Add("-s");
        psi.Environment["T2N_DOTNET"] = dotnet;
        psi.Environment["T2N_DLL"] = dll;
        using Process p = Process.Start(psi)!;
        p.StandardInput.Write(Script.ReplaceLineEndings("\n"));
        p.StandardInput.Close();
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            await p.WaitForExitAsync(timeout.Token);
        }

        Assert.True(p.ExitCode == 0, await stderr);
        string[] lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] minKeys = [.. CompressionRegistry.Default.Keys.Where(k => k.StartsWith("min", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
        Assert.NotEmpty(minKeys);
        Assert.Equal(
            [
                "t2n exp|export export-llm",
                "t2n verify a.nnef.tgz --to|--tolerance",
                $"t2n compress -c min|{string.Join(' ', minKeys)}",
                "t2n inspect |", // no candidate but options: bash completes file names (-o default)
                "t2n inspect sam|",
                "complete -o default -F _t2n_complete t2n",
            ],
            lines);
    }
}
