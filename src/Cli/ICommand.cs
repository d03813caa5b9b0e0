namespace TorchToNnef.Cli;

/// <summary>One <c>t2n</c> sub-command.</summary>
internal interface ICommand
{
    /// <summary>Name typed on the command line.</summary>
    string Name { get; }

    /// <summary>One-line description for <c>t2n --help</c>.</summary>
    string Summary { get; }

    /// <summary>Full usage text.</summary>
    string Usage { get; }

    /// <summary>The flag that replaces an existing output, named in the hint when an output already exists.</summary>
    string ReplaceFlag => "--overwrite";

    /// <summary>
    /// Runs the command with the arguments after its name; returns the exit code. Names read from files are escaped
    /// with <see cref="IO.TerminalText"/> before they are printed; <paramref name="cancellation"/> stops the run (an
    /// <see cref="OperationCanceledException"/>, after the run removed what it created).
    /// </summary>
    int Execute(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellation);
}

/// <summary>Bad command-line usage: reported with the command's usage text and exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
