using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Diagnostics;
using System.Text.Json;
using TorchToNnef.Errors;
using TorchToNnef.IO;

namespace TorchToNnef.Cli;

/// <summary>
/// Entry point of <c>t2n</c>: System.CommandLine parses the command line (generated help, typo suggestions, response
/// files <c>@file.rsp</c>), then one command runs and our errors become one line in our words with an exit code
/// (<see cref="ExitCodes"/>). Output goes through <see cref="TerminalWriter"/> (no raw control characters); with
/// <c>--json</c> the command's <see cref="CommandSummary"/> is the only thing on stdout. An interrupted run exits with
/// 128 + the signal number once it has removed what it created.
/// </summary>
internal static class CliApp
{
    /// <summary>Exit code for bad usage (<see cref="ExitCodes.Usage"/>).</summary>
    public const int UsageError = ExitCodes.Usage;

    /// <summary>Exit code for a failed check (<see cref="ExitCodes.CheckFailed"/>).</summary>
    public const int Failure = ExitCodes.CheckFailed;

    /// <summary>Exit code for an unreadable or invalid input or an unwritable output (<see cref="ExitCodes.InputOrIo"/>).</summary>
    public const int InputError = ExitCodes.InputOrIo;

    private static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Print one machine-readable JSON summary on stdout (what was read and written, sizes, timings, warnings)",
        Arity = ArgumentArity.Zero,
        Recursive = true,
    };

    private static readonly Option<bool> QuietOption = new("--quiet", "-q")
    {
        Description = "Print nothing but errors",
        Arity = ArgumentArity.Zero,
        Recursive = true,
    };

    private static readonly Option<bool> VerboseOption = new("--verbose", "-v")
    {
        Description = "Print details (kernel, timings, every tensor)",
        Arity = ArgumentArity.Zero,
        Recursive = true,
    };

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, null);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CliInterrupt? interrupt)
    {
        stdout = new TerminalWriter(stdout);
        stderr = new TerminalWriter(stderr);
        var commands = new Dictionary<Command, ICommand>();
        Command root = BuildRoot(commands);
        var invocation = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null, // CliInterrupt handles SIGINT/SIGTERM
        };

        ParseResult result = root.Parse(args.Length == 0 ? ["--help"] : args, new ParserConfiguration { EnablePosixBundling = false });
        if (result.Action is not null and not ParseErrorAction)
        {
            // --help, --version: System.CommandLine's own actions (ours for the version).
            int code = result.Invoke(invocation);
            return args.Length == 0 ? UsageError : code;
        }

        Command parsed = result.CommandResult.Command;
        commands.TryGetValue(parsed, out ICommand? command);
        string prefix = command is null ? "t2n" : $"t2n {command.Name}";
        var mode = new OutputMode(result.GetValue(JsonOption), result.GetValue(QuietOption), result.GetValue(VerboseOption));
        var context = new CommandContext(command?.Name ?? "t2n", stdout, stderr, mode, interrupt?.Token ?? CancellationToken.None);
        if (result.Errors.Count > 0 || command is null)
        {
            string help = command is null ? "t2n --help" : $"t2n {command.Name} --help";
            return Fail(context, stderr, ExitCodes.Usage, $"{prefix}: {UsageMessage(result, parsed, command is null)}. Run '{help}'.");
        }

        var clock = Stopwatch.StartNew();
        int exit;
        try
        {
            exit = command.Execute(new CommandArgs(result), context);
        }
        catch (OperationCanceledException) when (interrupt?.Interrupted == true)
        {
            context.Summary.Status = "interrupted";
            return Fail(context, stderr, interrupt.ExitCode, $"{prefix}: interrupted; the outputs of this run were removed");
        }
        catch (Exception e) when (Classify(e, command.ReplaceFlag) is { } failure)
        {
            return Fail(context, stderr, failure.Code, $"{prefix}: {failure.Message}");
        }

        context.Summary.ElapsedSeconds = clock.Elapsed.TotalSeconds;
        context.Summary.ExitCode = exit;
        context.Summary.Status = exit == ExitCodes.Success ? "ok" : "check-failed";
        PrintSummary(context);
        return exit;
    }

    /// <summary>The version of the tool (the project version, without the commit).</summary>
    public static string Version => BuildInfo.Version;

    // Our errors and I/O errors in one line, with the exit code they mean; null for what we do not expect (a bug).
    // An output that exists names the flag that replaces it (--overwrite, or export-llm's -iaed).
    private static (int Code, string Message)? Classify(Exception e, string replaceFlag) => e switch
    {
        // Parallel work (ordered writes, Parallel.For) wraps one failure: report the failure itself.
        AggregateException { InnerExceptions.Count: 1 } a => Classify(a.InnerExceptions[0], replaceFlag),
        UsageException u => (ExitCodes.Usage, $"{OneLine(u.Message)}"),
        OutputRefusedException r => (ExitCodes.Usage, $"error: {OneLine(r.Message)}{(r.Reason == OutputRefusal.Exists ? $"; use {replaceFlag} to replace it" : string.Empty)}"),
        TorchToNnefException t => (ExitCodes.InputOrIo, $"error: {OneLine(t.Message)}"),
        IOException or UnauthorizedAccessException => (ExitCodes.InputOrIo, $"error: {OneLine(IoErrorText.Describe(e))}"),
        OutOfMemoryException => (ExitCodes.InputOrIo, "error: out of memory"),
        OperationCanceledException => null,
        _ => (ExitCodes.Internal, $"internal error ({e.GetType().Name}): {OneLine(e.Message)}; please report this"),
    };

    private static int Fail(CommandContext context, TextWriter stderr, int code, string line)
    {
        stderr.WriteLine(line);
        context.Summary.ExitCode = code;
        if (context.Summary.Status is "ok")
        {
            context.Summary.Status = code == ExitCodes.Usage ? "usage-error" : "error";
        }

        context.Summary.Error = line;
        PrintSummary(context);
        return code;
    }

    private static void PrintSummary(CommandContext context)
    {
        if (context.Mode.Json && !context.SummaryPrinted)
        {
            context.RawOut.WriteLine(JsonSerializer.Serialize(context.Summary, SummaryJsonContext.Default.CommandSummary));
        }
    }

    private static string UsageMessage(ParseResult result, Command parsed, bool atRoot)
    {
        if (result.UnmatchedTokens.Count > 0)
        {
            string token = result.UnmatchedTokens[0];
            bool looksLikeOption = token.Length > 1 && token[0] == '-' && !double.TryParse(token, System.Globalization.CultureInfo.InvariantCulture, out _);
            IEnumerable<string> candidates = atRoot
                ? parsed.Subcommands.Select(c => c.Name)
                : parsed.Options.Concat(parsed.Parents.OfType<Command>().SelectMany(p => p.Options.Where(o => o.Recursive)))
                    .SelectMany(o => o.Aliases.Prepend(o.Name));
            string what = atRoot ? "command" : looksLikeOption ? "option" : "argument";
            string? suggestion = looksLikeOption || atRoot ? Suggestions.Closest(token, candidates) : null;
            return $"unknown {what} '{OneLine(token)}'" + (suggestion is null ? string.Empty : $" (did you mean '{suggestion}'?)");
        }

        if (atRoot)
        {
            return "missing command";
        }

        string message = result.Errors[0].Message.TrimEnd('.');
        return OneLine(char.ToLowerInvariant(message[0]) + message[1..]);
    }

    private static Command BuildRoot(Dictionary<Command, ICommand> commands)
    {
        // A RootCommand (not a plain Command) so that the parser accepts directives: [suggest:N] is what the scripts
        // of 't2n completions' (and dotnet-suggest) call to complete a command line. Its name is the executable's;
        // help always says t2n. Its default --help/--version are replaced by ours below.
        var root = new RootCommand("Turn model weights into NNEF archives for the tract inference engine.")
        {
            HelpName = "t2n",
        };
        root.Options.Clear();
        root.Add(JsonOption);
        root.Add(QuietOption);
        root.Add(VerboseOption);
        var help = new HelpOption();
        help.Action = new HelpWithExitCodes((HelpAction)help.Action!);
        root.Add(help);
        root.Add(new VersionOption("--version", "-V") { Action = new VersionAction() });
        foreach (ICommand c in CommandCatalog.All)
        {
            Command definition = c.Define();
            commands[definition] = c;
            root.Add(definition);
        }

        return root;
    }

    // Messages name files and tensors: escaped, so a name can neither inject terminal controls nor forge a line.
    private static string OneLine(string s) => TerminalText.Escape(s);

    /// <summary>The generated help, followed by what the exit codes mean.</summary>
    private sealed class HelpWithExitCodes(HelpAction inner) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            inner.Invoke(parseResult);
            TextWriter output = parseResult.InvocationConfiguration.Output;
            if (Opt.Details(parseResult.CommandResult.Command) is string details)
            {
                output.WriteLine("Details:");
                foreach (string line in Opt.Wrap(details))
                {
                    output.WriteLine(line);
                }

                output.WriteLine();
            }

            output.WriteLine(ExitCodes.HelpText);
            return 0;
        }
    }

    /// <summary><c>t2n --version</c>: version, commit, runtime and the Q4_0 kernel in use.</summary>
    private sealed class VersionAction : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            BuildInfo.Write(parseResult.InvocationConfiguration.Output);
            return 0;
        }
    }
}
