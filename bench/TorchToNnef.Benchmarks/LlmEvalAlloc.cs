using System.Globalization;
using System.Text.RegularExpressions;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// <c>llm-eval-alloc --archive DIR [--tokens N] [--runs R]</c>: runs an exported LLM archive (<c>t2n export-llm ... -nv</c>)
/// through the evaluator as the check-io does (<see cref="EvaluationOptions.ReleaseWeightsAfterUse"/>), in the
/// <c>prompt</c> mode (N tokens, empty caches), and attributes the bytes allocated to the operators: after each primitive
/// call the process's allocated bytes since the previous call go to that operator (and to its statement with the layer
/// number taken out), so what a run allocates per layer, outside the evaluator's pools, shows by name. Prints the top
/// operators and statements per run, the run's total, and the GC heap after it.
/// </summary>
internal static partial class LlmEvalAlloc
{
    public static void Run(string[] args)
    {
        string dir = BenchArgs.Option(args, "--archive") ?? throw new ArgumentException("llm-eval-alloc needs --archive DIR");
        int tokens = int.Parse(BenchArgs.Option(args, "--tokens") ?? "6", CultureInfo.InvariantCulture);
        int runs = int.Parse(BenchArgs.Option(args, "--runs") ?? "2", CultureInfo.InvariantCulture);
        Graph graph = NnefArchive.Read(dir);
        var byOp = new Dictionary<string, long>(StringComparer.Ordinal);
        var byStatement = new Dictionary<string, long>(StringComparer.Ordinal);
        long last = 0;
        var options = new EvaluationOptions
        {
            ReleaseWeightsAfterUse = true,
            ReuseOutputStorage = true,
            OperatorTimed = (path, op, _) =>
            {
                long now = GC.GetTotalAllocatedBytes(precise: true);
                long delta = now - last;
                last = now;
                byOp[op] = byOp.GetValueOrDefault(op) + delta;
                string key = LayerNumber().Replace(path, "N");
                byStatement[key] = byStatement.GetValueOrDefault(key) + delta;
            },
        };
        var evaluator = new GraphEvaluator(graph, options);
        var inputs = new List<NamedTensor>();
        foreach (GraphInput input in evaluator.Inputs)
        {
            if (input.Name.Contains("input_ids", StringComparison.Ordinal))
            {
                inputs.Add(new NamedTensor(input.Name, TensorValue.Create(DatumType.I64, [1, tokens], Enumerable.Range(0, tokens).Select(i => (long)(i * 7919 % 1000)).ToArray())));
            }
            else
            {
                int[] shape = input.Shape.Select(d => d.TryGetConstant(out long v) ? (int)v : 0).ToArray();
                inputs.Add(new NamedTensor(input.Name, TensorValue.Zeros(input.Type, shape)));
            }
        }

        for (int r = 0; r < runs; r++)
        {
            byOp.Clear();
            byStatement.Clear();
            long start = GC.GetTotalAllocatedBytes(precise: true);
            last = start;
            ProcessStats.ResetPeak();
            evaluator.Run(inputs);
            long total = GC.GetTotalAllocatedBytes(precise: true) - start;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run {r + 1}: allocated {total / 1e6:F1} MB; peak RSS {ProcessStats.PeakMb():F0} MB; GC heap {GC.GetGCMemoryInfo().HeapSizeBytes / 1e6:F0} MB; panel storage {evaluator.PanelStorageBytes.Allocated / 1e6:F1} MB"));
            foreach ((string op, long bytes) in byOp.OrderByDescending(kv => kv.Value).Take(12))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  op {op,-28} {bytes / 1e6,10:F2} MB"));
            }

            foreach ((string statement, long bytes) in byStatement.OrderByDescending(kv => kv.Value).Take(25))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  at {statement,-70} {bytes / 1e6,10:F2} MB"));
            }
        }
    }

    [GeneratedRegex(@"\d+")]
    private static partial Regex LayerNumber();
}
