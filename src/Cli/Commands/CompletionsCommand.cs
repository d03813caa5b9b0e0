using System.CommandLine;

namespace TorchToNnef.Cli.Commands;

/// <summary>
/// <c>t2n completions bash|zsh|pwsh</c>: prints a shell script that completes t2n's commands, options and option values
/// by asking t2n itself through System.CommandLine's <c>[suggest:N]</c> directive (the protocol of <c>dotnet-suggest</c>,
/// without needing that tool). Where t2n has no candidate (a path), the shell completes file names.
/// </summary>
internal sealed class CompletionsCommand : ICommand
{
    /// <summary>The shells a script is printed for.</summary>
    public static readonly string[] Shells = ["bash", "zsh", "pwsh"];

    public string Name => "completions";

    public string Summary => "Print a tab-completion script for bash, zsh or PowerShell";

    public Command Define()
    {
        Argument<string> shell = Opt.Path("shell", "bash, zsh or pwsh");
        shell.CompletionSources.Add(Shells);
        return Opt.Command(Name, Summary, """
            The script asks t2n for candidates (t2n "[suggest:<cursor>]" "<command line>", System.CommandLine's suggest
            directive) and completes file names where t2n has none. Load it from your shell's start-up file:
            bash: eval "$(t2n completions bash)" in ~/.bashrc; zsh: eval "$(t2n completions zsh)" in ~/.zshrc (after
            compinit); PowerShell: t2n completions pwsh | Out-String | Invoke-Expression in $PROFILE.
            """,
            shell);
    }

    public int Execute(CommandArgs args, CommandContext context)
    {
        string shell = args.Argument("shell");
        string script = shell switch
        {
            "bash" => Bash,
            "zsh" => Zsh,
            "pwsh" or "powershell" => PowerShell,
            _ => throw new UsageException($"unknown shell '{shell}'; known: {string.Join(", ", Shells)}"),
        };
        context.Out.Write(script.ReplaceLineEndings("\n"));
        return ExitCodes.Success;
    }

    // The command line passed to [suggest:N] is the one after the program name, N the cursor within it (as
    // dotnet-suggest passes it). Candidates that are options are offered only for a word that starts with '-', so a
    // path argument falls back to file names; the Windows spellings of help (/h, /?) are never offered.
    private const string Bash = """
        # t2n tab completion for bash: eval "$(t2n completions bash)"
        _t2n_complete()
        {
            local word="${COMP_WORDS[COMP_CWORD]}"
            local line="${COMP_LINE:0:COMP_POINT}"
            line="${line#"${COMP_WORDS[0]}"}"
            line="${line#" "}"
            local candidates
            candidates=$("${COMP_WORDS[0]}" "[suggest:${#line}]" "$line" 2>/dev/null) || return 0
            local IFS=$'\n'
            local c
            COMPREPLY=()
            for c in $candidates; do
                if [[ "$c" != /* && "$c" == "$word"* && ( "$word" == -* || "$c" != -* ) ]]; then
                    COMPREPLY+=("$c")
                fi
            done
        }
        complete -o default -F _t2n_complete t2n

        """;

    private const string Zsh = """
        # t2n tab completion for zsh: eval "$(t2n completions zsh)" (after compinit)
        _t2n_complete()
        {
            local line="${(j: :)words[2,CURRENT]}"
            local -a candidates
            candidates=("${(@f)$(${words[1]} "[suggest:${#line}]" "$line" 2>/dev/null)}")
            candidates=(${${candidates:#}:#/*})
            if [[ "$PREFIX" != -* ]]; then
                candidates=(${candidates:#-*})
            fi
            if (( ${#candidates} )); then
                compadd -- "${candidates[@]}"
            else
                _files
            fi
        }
        compdef _t2n_complete t2n

        """;

    private const string PowerShell = """
        # t2n tab completion for PowerShell: t2n completions pwsh | Out-String | Invoke-Expression
        Register-ArgumentCompleter -Native -CommandName t2n, t2n.exe -ScriptBlock {
            param($wordToComplete, $commandAst, $cursorPosition)
            $program = $commandAst.CommandElements[0]
            $start = $program.Extent.EndOffset
            $end = [Math]::Min($cursorPosition, $commandAst.Extent.EndOffset)
            $line = $commandAst.Extent.Text.Substring(0, $end - $commandAst.Extent.StartOffset).Substring($start - $commandAst.Extent.StartOffset).TrimStart()
            if ($cursorPosition -gt $commandAst.Extent.EndOffset) { $line += ' ' }
            $candidates = & $program.Extent.Text "[suggest:$($line.Length)]" $line 2>$null
            $candidates | Where-Object { $_ -notlike '/*' -and $_ -like "$wordToComplete*" -and ($wordToComplete -like '-*' -or $_ -notlike '-*') } | ForEach-Object {
                [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
            }
        }

        """;
}
