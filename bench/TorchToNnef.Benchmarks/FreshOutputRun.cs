using System.Diagnostics;
using System.Globalization;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// <c>fresh-output [--held-mib N] [--runs N]</c>: what a run that hands back a new 16 MiB output array costs, and why.
/// The process first allocates and touches N MiB of arrays it keeps (default 1024, about what the benchmark process
/// holds), then times, interleaved, a softmax over [4096, 1024] through <see cref="GraphEvaluator"/> reusing the
/// previous output's storage (<see cref="EvaluationOptions.ReuseOutputStorage"/>) and with a fresh output array, a
/// broadcast add with a fresh output, and a bare <c>GC.AllocateUninitializedArray</c> of 16 MiB filled on one thread.
/// Beside each median it prints the minor page faults per run (<c>/proc/self/stat</c>): a fresh array the GC carves
/// from memory it never handed out before is faulted in page by page on first write. Compare with
/// <c>--held-mib 0</c>, where the GC collects after a few arrays and hands the same, already-resident memory back.
/// Run: <c>dotnet run -c Release --project bench/TorchToNnef.Benchmarks -- fresh-output</c>.
/// </summary>
public static class FreshOutputRun
{
    private const int Rows = 4096;
    private const int Columns = 1024;

    /// <summary>Entry point.</summary>
    public static void Run(string[] args)
    {
        int heldMib = Option(args, "--held-mib", 1024);
        int runs = Option(args, "--runs", 20);
        var rng = new Random(12);
        var held = new List<float[]>();
        for (int mib = 0; mib < heldMib; mib += 256)
        {
            var block = new float[Math.Min(256, heldMib - mib) * 1024 * 256];
            block.AsSpan().Fill(1f);
            held.Add(block);
        }

        var softmax = new Graph { Registries = { "tract_core" } };
        softmax.AddInput("x", DType.F32, [Dim.Of(Rows), Dim.Of(Columns)]);
        softmax.Nodes.Add(new Node("softmax", "y").With(Arg.Ref("x")).With("axes", Arg.Ints(1)));
        softmax.Outputs.Add("y");
        var add = new Graph { Registries = { "tract_core" } };
        add.AddInput("a", DType.F32, [Dim.Of(Rows), Dim.Of(Columns)]);
        add.AddInput("b", DType.F32, [Dim.Of(1), Dim.Of(Columns)]);
        add.Nodes.Add(new Node("add", "c").With(Arg.Ref("a")).With(Arg.Ref("b")));
        add.Outputs.Add("c");

        var reuse = new GraphEvaluator(softmax, new EvaluationOptions { MaxDegreeOfParallelism = 2, ReuseOutputStorage = true });
        var fresh = new GraphEvaluator(softmax, new EvaluationOptions { MaxDegreeOfParallelism = 2 });
        var addFresh = new GraphEvaluator(add, new EvaluationOptions { MaxDegreeOfParallelism = 2 });
        List<NamedTensor> x = [new("x", TensorValue.F32([Rows, Columns], EvaluatorTargetBenchmarks.Random(rng, Rows * Columns)))];
        List<NamedTensor> ab = [x[0] with { Name = "a" }, new("b", TensorValue.F32([1, Columns], EvaluatorTargetBenchmarks.Random(rng, Columns)))];
        (string Name, Action Run)[] cases =
        [
            ("softmax, output storage reused", () => reuse.Run(x)),
            ("softmax, fresh output", () => fresh.Run(x)),
            ("broadcast add, fresh output", () => addFresh.Run(ab)),
            ("allocate 16 MiB uninitialized + fill, 1 thread", () => GC.KeepAlive(Filled(GC.AllocateUninitializedArray<float>(Rows * Columns)))),
        ];

        var times = cases.Select(_ => new List<double>()).ToArray();
        var faults = cases.Select(_ => new List<long>()).ToArray();
        for (int round = -3; round < runs; round++)
        {
            for (int c = 0; c < cases.Length; c++)
            {
                long before = MinorFaults();
                long start = Stopwatch.GetTimestamp();
                cases[c].Run();
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (round >= 0)
                {
                    times[c].Add(ms);
                    faults[c].Add(MinorFaults() - before);
                }
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"held {heldMib} MiB; {runs} runs of each case, interleaved; 16 MiB = {Rows * Columns * 4 / 4096} pages of 4 KiB"));
        for (int c = 0; c < cases.Length; c++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{cases[c].Name,-48} median {Median(times[c]),8:F2} ms  min {times[c].Min(),8:F2} ms  minor faults per run {Median(faults[c].Select(f => (double)f).ToList()),7:F0}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"collections gen0/1/2: {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, total GC pause {GC.GetTotalPauseDuration().TotalMilliseconds:F1} ms"));
        GC.KeepAlive(held);
    }

    private static float[] Filled(float[] a)
    {
        a.AsSpan().Fill(2f);
        return a;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }

    // Field 10 of /proc/self/stat (after the parenthesised command name): minor faults of the process so far.
    private static long MinorFaults()
    {
        string stat = File.ReadAllText("/proc/self/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], CultureInfo.InvariantCulture);
    }

    private static int Option(string[] args, string name, int fallback)
    {
        int at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }
}
