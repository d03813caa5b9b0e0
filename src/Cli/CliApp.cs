using System.Reflection;
using TorchToNnef.Errors;
using TorchToNnef.IO;

namespace TorchToNnef.Cli;

/// <summary>
/// Entry point of <c>t2n</c>: dispatches to one command, maps our errors to a one-line message and exit code. Output
/// goes through <see cref="TerminalWriter"/> (no raw control characters), and an interrupted run exits with
/// 128 + the signal number once it has removed what it created.
/// </summary>
internal static class CliApp
{
    /// <summary>Exit code for bad usage (unknown command or option).</summary>
    public const int UsageError = 2;

    /// <summary>Exit code for a product error (bad input, unsupported feature, failed verification).</summary>
    public const int Failure = 1;

    private static readonly ICommand[] Commands = CommandCatalog.All;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Run(args, stdout, stderr, null);

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CliInterrupt? interrupt)
    {
        stdout = new TerminalWriter(stdout);
        stderr = new TerminalWriter(stderr);
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            PrintHelp(stdout);
            return args.Length == 0 ? UsageError : 0;
        }

        if (args[0] is "--version" or "-V")
        {
            stdout.WriteLine($"t2n {Version}");
            return 0;
        }

        ICommand? command = Array.Find(Commands, c => c.Name == args[0]);
        if (command is null)
        {
            stderr.WriteLine($"t2n: unknown command '{TerminalText.Escape(args[0])}'. Run 't2n --help'.");
            return UsageError;
        }

        string[] rest = args[1..];
        if (rest.Any(a => a is "-h" or "--help"))
        {
            stdout.WriteLine(command.Usage);
            return 0;
        }

        try
        {
            return command.Execute(rest, stdout, stderr, interrupt?.Token ?? CancellationToken.None);
        }
        catch (OperationCanceledException) when (interrupt?.Interrupted == true)
        {
            stderr.WriteLine($"t2n {command.Name}: interrupted; the outputs of this run were removed");
            return interrupt.ExitCode;
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"t2n {command.Name}: {OneLine(e.Message)}");
            stderr.WriteLine(command.Usage);
            return UsageError;
        }
        catch (OutputRefusedException e)
        {
            string hint = e.Reason == OutputRefusal.Exists ? $"; use {command.ReplaceFlag} to replace it" : string.Empty;
            stderr.WriteLine($"t2n {command.Name}: error: {OneLine(e.Message)}{hint}");
            return UsageError;
        }
        catch (TorchToNnefException e)
        {
            stderr.WriteLine($"t2n {command.Name}: error: {OneLine(e.Message)}");
            return Failure;
        }
        catch (IOException e)
        {
            stderr.WriteLine($"t2n {command.Name}: error: {OneLine(e.Message)}");
            return Failure;
        }
        catch (UnauthorizedAccessException e)
        {
            stderr.WriteLine($"t2n {command.Name}: error: {OneLine(e.Message)}");
            return Failure;
        }
    }

    /// <summary>The informational version of the tool.</summary>
    public static string Version =>
        typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    // Messages name files and tensors: escaped, so a name can neither inject terminal controls nor forge a line.
    private static string OneLine(string s) => TerminalText.Escape(s);

    private static void PrintHelp(TextWriter stdout)
    {
        stdout.WriteLine("t2n - turn model weights into NNEF archives for the tract inference engine");
        stdout.WriteLine();
        stdout.WriteLine("Usage: t2n <command> [options]");
        stdout.WriteLine();
        stdout.WriteLine("Commands:");
        foreach (ICommand c in Commands)
        {
            stdout.WriteLine($"  {c.Name,-12} {c.Summary}");
        }

        stdout.WriteLine();
        stdout.WriteLine("Run 't2n <command> --help' for the options of a command. 't2n --version' prints the version.");
    }
}
