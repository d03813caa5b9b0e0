using TorchToNnef.Cli;

using CliInterrupt interrupt = CliInterrupt.FromSignals(Console.Error);
return CliApp.Run(args, Console.Out, Console.Error, interrupt);
