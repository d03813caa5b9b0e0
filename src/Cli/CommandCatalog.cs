using TorchToNnef.Cli.Commands;

namespace TorchToNnef.Cli;

/// <summary>The list of commands, in the order <c>t2n --help</c> shows them.</summary>
internal static class CommandCatalog
{
    public static ICommand[] All => [new VerifyCommand()];

    // Commands register here, e.g. new InspectCommand(). ArgList is their shared option parser.
    internal static ArgList Parse(string[] args, string[] values, string[] flags) => new(args, values, flags);
}
