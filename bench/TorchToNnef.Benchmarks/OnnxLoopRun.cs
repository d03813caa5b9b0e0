using System.Diagnostics;
using System.Globalization;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Onnx;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Ir;
using TorchToNnef.OnnxTestSupport;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// <c>onnx-loop id [--seconds S] [--batch N] [--dump DIR] [--alloc]</c>: our evaluator alone on one real model's f32 archive (one thread),
/// run in batches of N runs for S seconds: per batch the mean time per run and the bytes the run allocates, then the
/// fastest and median batch. A steady target for a profiler (<c>dotnet-trace</c>) and for the evaluator's fixed cost
/// per statement, which single timed runs of a 40 µs model measure poorly on a loaded machine. <c>--dump</c> also
/// writes the translated graph as an archive folder; <c>--alloc</c> first prints the bytes one run allocates per operator.
/// </summary>
internal static class OnnxLoopRun
{
    public static void Run(string[] args)
    {
        double seconds = 5;
        int batch = 200;
        string? id = null;
        string? dump = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seconds":
                    seconds = double.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--dump":
                    dump = args[++i];
                    break;
                case "--alloc" or "--verbose":
                    break;
                case "--batch":
                    batch = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                default:
                    id = args[i];
                    break;
            }
        }

        if (id is null)
        {
            throw new ArgumentException("onnx-loop needs a model id");
        }

        (Graph graph, List<NamedTensor> fed) = RealModelArchive.Load(id, dump);

        if (args.Contains("--alloc"))
        {
            // Bytes allocated between one primitive statement's end and the next one's, charged to the later one.
            var bytesByOp = new Dictionary<string, long>(StringComparer.Ordinal);
            long last = 0;
            bool verbose = false;
            var traced = new GraphEvaluator(graph, new EvaluationOptions
            {
                MaxDegreeOfParallelism = 1,
                OperatorTimed = (where, op, elapsed) =>
                {
                    long now = GC.GetAllocatedBytesForCurrentThread();
                    bytesByOp[op] = bytesByOp.GetValueOrDefault(op) + (now - last);
                    if (verbose)
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {where} ({op}): {now - last} B"));
                    }

                    last = GC.GetAllocatedBytesForCurrentThread();
                },
            });
            traced.Run(fed);
            bytesByOp.Clear();
            verbose = args.Contains("--verbose");
            last = GC.GetAllocatedBytesForCurrentThread();
            traced.Run(fed);
            verbose = false;
            foreach ((string op, long bytes) in bytesByOp.OrderByDescending(kv => kv.Value))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{op}: {bytes} B"));
            }
        }

        var evaluator = new GraphEvaluator(graph, new EvaluationOptions { MaxDegreeOfParallelism = 1 });
        var perRun = new List<double>();
        var cpuPerRun = new List<double>();
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            long cpu = RealModelArchive.ThreadCpuNanoseconds();
            long start = Stopwatch.GetTimestamp();
            for (int r = 0; r < batch; r++)
            {
                evaluator.Run(fed);
            }

            double us = Stopwatch.GetElapsedTime(start).TotalMicroseconds / batch;
            double cpuUs = (RealModelArchive.ThreadCpuNanoseconds() - cpu) / 1e3 / batch;
            long bytes = (GC.GetAllocatedBytesForCurrentThread() - allocated) / batch;
            perRun.Add(us);
            cpuPerRun.Add(cpuUs);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{id}: {us:F1} µs/run wall, {cpuUs:F1} µs/run thread CPU, {bytes} B allocated/run"));
        }

        double[] sorted = [.. perRun.Order()];
        double[] cpuSorted = [.. cpuPerRun.Order()];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{id}: {graph.Nodes.Count} statements; fastest batch {sorted[0]:F1} µs/run, median {sorted[sorted.Length / 2]:F1} µs/run; thread CPU fastest {cpuSorted[0]:F1}, median {cpuSorted[cpuSorted.Length / 2]:F1} µs/run; {sorted.Length} batches of {batch}"));
    }
}
