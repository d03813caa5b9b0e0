using System.Reflection;
using TorchToNnef.Errors;

namespace TorchToNnef.Cli;

/// <summary>Entry point of <c>t2n</c>: dispatches to one command, maps our errors to a one-line message and exit code.</summary>
internal static class CliApp
{
    /// <summary>Exit code for bad usage (unknown command or option).</summary>
    public const int UsageError = 2;

    /// <summary>Exit code for a product error (bad input, unsupported feature, failed verification).</summary>
    public const int Failure = 1;

    private static readonly ICommand[] Commands = CommandCatalog.All;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
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
            stderr.WriteLine($"t2n: unknown command '{args[0]}'. Run 't2n --help'.");
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
            return command.Execute(rest, stdout, stderr);
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"t2n {command.Name}: {e.Message}");
            stderr.WriteLine(command.Usage);
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

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");

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
