using System.Diagnostics;
using System.Globalization;
using TorchToNnef.Export.Evaluation;

namespace TorchToNnef.Benchmarks.Llama;

/// <summary>
/// <c>llama decode|prompt [steps]</c>: one process that loads the Llama-shaped graph, runs it once to open the weights,
/// then times <c>steps</c> runs on two threads and prints their times, tokens/s, and the process's peak resident memory
/// (VmHWM) beside the stored Q4_0 weight bytes. A separate process, so peak RSS is the evaluator's own. Each run reuses
/// the previous run's output storage (<see cref="EvaluationOptions.ReuseOutputStorage"/>), as a decode loop does: the
/// logits are read before the next run starts.
/// Run: <c>dotnet run -c Release --project bench/TorchToNnef.Benchmarks -- llama decode 5</c>.
/// </summary>
public static class LlamaRun
{
    /// <summary>Entry point.</summary>
    public static void Run(string[] args)
    {
        string mode = args.Length > 1 ? args[1] : "decode";
        int steps = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        LlamaShape shape = LlamaShape.TinyLlama;
        (int tokens, int past) = mode == "prompt" ? (128, 0) : (1, 127);
        var evaluator = new GraphEvaluator(LlamaGraph.Build(shape, tokens, past), new EvaluationOptions { MaxDegreeOfParallelism = 2, ReuseOutputStorage = true });
        List<NamedTensor> inputs = LlamaGraph.Inputs(shape, tokens, past);
        var sw = Stopwatch.StartNew();
        IReadOnlyList<NamedTensor> first = evaluator.Run(inputs);
        Console.WriteLine($"first run (opens the weights): {sw.Elapsed.TotalSeconds:F2} s, logits {first[0].Value}");
        var times = new List<double>();
        for (int i = 0; i < steps; i++)
        {
            sw.Restart();
            evaluator.Run(inputs);
            times.Add(sw.Elapsed.TotalSeconds);
        }

        times.Sort();
        double median = times[times.Count / 2];
        Console.WriteLine($"{mode}: {tokens} token(s) after {past}: median {median * 1e3:F1} ms over {steps} runs (min {times[0] * 1e3:F1}, max {times[^1] * 1e3:F1})");
        Console.WriteLine($"tokens/s: {tokens / median:F1}; FMAs/s: {shape.Fmas(tokens, past) / median / 1e9:F1} G; Q4_0 weight bytes/s: {shape.Q40Bytes / median / 1e9:F1} GB");
        Console.WriteLine($"Q4_0 weight bytes: {shape.Q40Bytes / 1e6:F1} MB; peak RSS {Status("VmHWM") / 1e6:F1} MB (weights + {(Status("VmHWM") - shape.Q40Bytes) / 1e6:F1} MB); kept between runs by the pool: {evaluator.PooledBytes / 1e6:F1} MB");
    }

    private static long Status(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return -1;
    }
}
