using System.Globalization;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Onnx;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Ir;
using TorchToNnef.OnnxTestSupport;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// <c>onnx-profile [--runs N] [--top K] id ...</c>: where our evaluator spends its time on a real model (the f32 archive
/// <c>onnx-models</c> times, read back from disk, one thread): per operator the total time per run (median over runs
/// of each statement, summed) in wall time and in the thread's CPU time (steadier on a loaded machine), then the K
/// statements with the longest fastest call (the least disturbed by other load), with their shapes. Uses <see cref="EvaluationOptions.OperatorTimed"/>.
/// </summary>
internal static class OnnxProfileRun
{
    public static void Run(string[] args)
    {
        int runs = 5;
        int top = 25;
        var ids = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--runs":
                    runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--top":
                    top = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                default:
                    ids.Add(args[i]);
                    break;
            }
        }

        if (ids.Count == 0)
        {
            ids.AddRange(RealModels.All.Select(m => m.Id));
        }

        foreach (string id in ids)
        {
            Profile(id, runs, top);
        }
    }

    private static void Profile(string id, int runs, int top)
    {
        (Graph graph, List<NamedTensor> fed) = RealModelArchive.Load(id);

        // Output shapes of every statement, from one traced run (which also opens the weights).
        var outputShapes = new Dictionary<string, string>(StringComparer.Ordinal);
        new GraphEvaluator(graph, new EvaluationOptions { MaxDegreeOfParallelism = 1, ValueComputed = (p, v) => outputShapes[p] = string.Join("x", v.ShapeArray) }).Run(fed);

        // Wall time of each call, and the thread's CPU time since the previous call ended (the evaluator runs on the
        // calling thread with one worker; on a loaded machine the CPU time is the steadier figure).
        var samples = new Dictionary<string, (string Op, List<double> Ms, List<double> Cpu)>(StringComparer.Ordinal);
        var totals = new List<double>();
        var cpuTotals = new List<double>();
        long lastCpu = 0;
        var evaluator = new GraphEvaluator(graph, new EvaluationOptions
        {
            MaxDegreeOfParallelism = 1,
            OperatorTimed = (where, op, elapsed) =>
            {
                long now = RealModelArchive.ThreadCpuNanoseconds();
                if (!samples.TryGetValue(where, out var s))
                {
                    samples[where] = s = (op, [], []);
                }

                s.Ms.Add(elapsed.TotalMilliseconds);
                s.Cpu.Add((now - lastCpu) / 1e6);
                lastCpu = RealModelArchive.ThreadCpuNanoseconds();
            },
        });
        evaluator.Run(fed);
        samples.Clear();
        for (int r = 0; r < runs; r++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            long cpuStart = lastCpu = RealModelArchive.ThreadCpuNanoseconds();
            evaluator.Run(fed);
            totals.Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            cpuTotals.Add((RealModelArchive.ThreadCpuNanoseconds() - cpuStart) / 1e6);
        }

        var perNode = samples.Select(kv => (Where: kv.Key, kv.Value.Op, Ms: Median(kv.Value.Ms), Min: kv.Value.Ms.Min(), Cpu: Median(kv.Value.Cpu))).ToList();
        double run = Median(totals);
        double cpuRun = Median(cpuTotals);
        double inOps = perNode.Sum(n => n.Ms);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{id}: run {run:F1} ms wall, {cpuRun:F1} ms thread CPU (medians of {runs}), {inOps:F1} ms wall inside {perNode.Count} primitive statements"));
        Console.WriteLine("operator | wall ms per run (median) | fastest wall ms | CPU ms per run | CPU share | statements");
        foreach (var g in perNode.GroupBy(n => n.Op).Select(g => (Op: g.Key, Ms: g.Sum(n => n.Ms), Min: g.Sum(n => n.Min), Cpu: g.Sum(n => n.Cpu), Count: g.Count())).OrderByDescending(g => g.Min))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{g.Op} | {g.Ms:F2} | {g.Min:F2} | {g.Cpu:F2} | {100 * g.Cpu / cpuRun:F1}% | {g.Count}"));
        }

        // Statements of the graph body by name, to show the shapes of what they read.
        var nodes = new Dictionary<string, Node>(StringComparer.Ordinal);
        foreach (Node node in graph.Nodes)
        {
            nodes.TryAdd(node.Name, node);
        }

        Console.WriteLine($"slowest {top} statements (fastest of the runs): path | operator | median wall ms | fastest wall ms | output shape | input shapes, stride, dilation, groups");
        foreach (var n in perNode.OrderByDescending(n => n.Min).Take(top))
        {
            string reads = nodes.TryGetValue(n.Where, out Node? node)
                ? string.Join(", ", node.Inputs.SelectMany(a => a.References).Select(r => outputShapes.GetValueOrDefault(r, "?")))
                  + string.Concat(node.Attributes.Where(a => a.Key is "stride" or "dilation" or "groups").Select(a => $" {a.Key}={a.Value}"))
                : string.Empty;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n.Where} | {n.Op} | {n.Ms:F2} | {n.Min:F2} | {outputShapes.GetValueOrDefault(n.Where, "?")} | {reads}"));
        }

        Console.WriteLine();
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] v = [.. values.Order()];
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[(v.Length / 2) - 1] + v[v.Length / 2]) / 2;
    }
}
