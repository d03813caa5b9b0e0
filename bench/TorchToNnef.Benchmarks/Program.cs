using BenchmarkDotNet.Running;

// Pick suites with --filter, e.g. --filter '*EvaluatorBenchmarks*'. 'q40-quality' prints the calibration error report.
if (args is ["q40-quality", ..])
{
    TorchToNnef.Benchmarks.Q40Quality.Run();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point marker for <see cref="BenchmarkSwitcher"/>.</summary>
public partial class Program;
