using BenchmarkDotNet.Running;

// Pick suites with --filter, e.g. --filter '*EvaluatorBenchmarks*'. 'q40-quality' prints the calibration error report;
// 'llama decode|prompt [steps]' times the Llama-shaped graph and reports peak RSS.
if (args is ["q40-quality", ..])
{
    TorchToNnef.Benchmarks.Q40Quality.Run();
    return;
}

if (args is ["llama", ..])
{
    TorchToNnef.Benchmarks.Llama.LlamaRun.Run(args);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

/// <summary>Entry point marker for <see cref="BenchmarkSwitcher"/>.</summary>
public partial class Program;
