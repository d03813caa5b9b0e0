using System.Diagnostics;
using System.Globalization;
using TorchToNnef.Export.Llm;
using TorchToNnef.Export.Llm.Exporting;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// <c>llm-verify-memory --dir CKPT [--collect] [--pause-after PHASE]</c>: what each phase of <c>t2n export-llm -dt f16 -f32-attn -c
/// min_max_q4_0_all</c>'s verification costs in memory, in one process on a checkpoint from <c>gen-llm-checkpoint</c>:
/// for the export (write), the verifier's set-up and, per mode, the reference pass and the evaluator run: peak RSS of
/// the phase (VmHWM reset at its start, file-backed pages included), bytes allocated, garbage collections by generation,
/// the GC heap after the phase and wall/CPU time, the memory the GC has committed and the process's anonymous resident
/// memory (RssAnon: the GC heap and native allocations) at the phase's end. <c>--collect</c> runs a full blocking
/// collection after each phase (so the next phase's peak is its own, not the previous phase's garbage) and reports
/// what survived it: the bytes still alive (the "live MB" column). <c>--pause-after PHASE</c> (e.g. "export evaluator")
/// sleeps 60 s once that phase has ended, for a heap snapshot (<c>dotnet-gcdump collect -p PID</c>). Linux only for
/// the RSS columns.
/// </summary>
internal static class LlmVerifyMemory
{
    public static void Run(string[] args)
    {
        string dir = BenchArgs.Option(args, "--dir") ?? throw new ArgumentException("llm-verify-memory needs --dir CKPT (from gen-llm-checkpoint)");
        bool collect = args.Contains("--collect");
        string? pauseAfter = BenchArgs.Option(args, "--pause-after");
        string output = Path.Combine(Path.GetTempPath(), "t2n-llm-verify-memory-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(dir);
        Console.WriteLine($"checkpoint {dir}: {checkpoint.Summary.ParameterCount:N0} weights; {Environment.ProcessorCount} cores; server GC {System.Runtime.GCSettings.IsServerGC}");
        Console.WriteLine("phase                          | peak RSS MB | allocated MB | gen0 gen1 gen2 | GC heap MB | committed MB | anon MB | live MB | wall s | CPU s");
        var phase = new Phase(collect);
        var options = new LlmExportOptions
        {
            ExportDirectory = output,
            ForceDType = DType.F16,
            ForceF32Attention = true,
            Compression = CompressionRegistry.Default.Get("min_max_q4_0_all"),
            VerificationPhaseDone = name =>
            {
                phase.End(name == "open" ? "write + open" : name);
                if (name == pauseAfter)
                {
                    // Time to take a heap snapshot of the verification mid-way (dotnet-gcdump collect -p PID).
                    Console.WriteLine($"pausing 60 s after '{name}': pid {Environment.ProcessId}");
                    Thread.Sleep(TimeSpan.FromSeconds(60));
                }
            },
        };
        try
        {
            var clock = Stopwatch.StartNew();
            LlmExportResult result = LlmExporter.Export(checkpoint, options);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total {clock.Elapsed.TotalSeconds:F1} s; process peak RSS {ProcessStats.PeakMb():F0} MB (since the last reset); checks passed: {result.Checks.All(c => c.Passed)}"));
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    private sealed class Phase
    {
        private readonly bool _collect;
        private long _allocated;
        private int[] _counts = new int[3];
        private Stopwatch _clock = new();
        private TimeSpan _cpu;

        public Phase(bool collect)
        {
            _collect = collect;
            if (collect)
            {
                Collect();
            }

            Start();
        }

        public void End(string name)
        {
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - _allocated;
            int[] counts = [.. Enumerable.Range(0, 3).Select(g => GC.CollectionCount(g) - _counts[g])];
            GCMemoryInfo info = GC.GetGCMemoryInfo();
            double heap = info.HeapSizeBytes / 1e6;
            double committed = info.TotalCommittedBytes / 1e6;
            double anon = ProcessStats.StatusMb("RssAnon");
            double peak = ProcessStats.PeakMb();
            string live = "-";
            if (_collect)
            {
                Collect();
                live = (GC.GetTotalMemory(forceFullCollection: false) / 1e6).ToString("F1", CultureInfo.InvariantCulture);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-30} | {peak,11:F0} | {allocated / 1e6,12:F3} | {counts[0],4} {counts[1],4} {counts[2],4} | {heap,10:F0} | {committed,12:F0} | {anon,7:F0} | {live,7} | {_clock.Elapsed.TotalSeconds,6:F1} | {(ProcessStats.CpuTime() - _cpu).TotalSeconds,5:F1}"));
            Start();
        }

        private static void Collect() => GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);

        private void Start()
        {
            ProcessStats.ResetPeak();
            _allocated = GC.GetTotalAllocatedBytes(precise: true);
            _counts = [.. Enumerable.Range(0, 3).Select(GC.CollectionCount)];
            _cpu = ProcessStats.CpuTime();
            _clock = Stopwatch.StartNew();
        }
    }
}
