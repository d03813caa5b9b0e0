using TorchToNnef.Cli.Commands;

namespace TorchToNnef.Cli;

/// <summary>The list of commands, in the order <c>t2n --help</c> shows them.</summary>
internal static class CommandCatalog
{
    public static ICommand[] All => [new InspectCommand(), new ExportLlmCommand(), new ExportCommand(), new CompressCommand(), new QuantizeCommand(), new VerifyCommand(), new SelfTestCommand(), new CompletionsCommand()];
}
