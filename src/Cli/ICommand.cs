using System.CommandLine;

namespace TorchToNnef.Cli;

/// <summary>One <c>t2n</c> sub-command.</summary>
internal interface ICommand
{
    /// <summary>Name typed on the command line.</summary>
    string Name { get; }

    /// <summary>One-line description for <c>t2n --help</c>.</summary>
    string Summary { get; }

    /// <summary>
    /// The command's arguments and options, with their help (System.CommandLine generates the help text, refuses unknown
    /// options and suggests the closest spelling).
    /// </summary>
    Command Define();

    /// <summary>The flag that replaces an existing output, named in the hint when an output already exists.</summary>
    string ReplaceFlag => "--overwrite";

    /// <summary>
    /// Runs the command; returns the exit code (<see cref="ExitCodes"/>). Names read from files are escaped with
    /// <see cref="IO.TerminalText"/> before they are printed; <see cref="CommandContext.Cancellation"/> stops the run
    /// (an <see cref="OperationCanceledException"/>, after the run removed what it created).
    /// </summary>
    int Execute(CommandArgs args, CommandContext context);
}

/// <summary>Bad command-line usage: reported in one line with exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
