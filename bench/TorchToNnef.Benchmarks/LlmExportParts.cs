using System.Diagnostics;
using System.Globalization;
using TorchToNnef.Export.Llm;
using TorchToNnef.Export.Llm.Exporting;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Quant;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// <c>llm-export-parts --dir CKPT [--runs N] [--only STAGE]</c>: where the time of <c>t2n export-llm -dt f16 -c min_max_q4_0_all -nv</c>
/// goes, stage by stage, in one process (JIT warmed up by a first unmeasured round) on a checkpoint from
/// <c>gen-llm-checkpoint</c>. Each stage adds one thing to the one before, so the differences are the costs:
/// <list type="number">
/// <item><c>read</c>: every shard read once with positional reads of 256 KiB (what <c>cat</c> does), 1 and 2 threads;</item>
/// <item><c>kernel</c>: each Q4_0 kernel of 256 or 512 bits the CPU runs, on one L2-resident 256 KiB f16 chunk, over and over (compute only);</item>
/// <item><c>quantize</c>: every quantized tensor of the checkpoint through <see cref="Q40Quantizer.WriteBlocks"/> into
/// <see cref="Stream.Null"/> (read + quantize, no archive), 1 and 2 threads;</item>
/// <item><c>export</c>: <see cref="LlmExporter.Export"/> without verification into a scratch folder (quantize + archive
/// + the graph), the output deleted after each round.</item>
/// </list>
/// <c>--only</c> keeps the stages whose name starts with it (<c>read</c>, <c>kernel</c>, <c>quantize</c>, <c>export</c>).
/// Rates are weights per second of the whole model (quantized weights for <c>quantize</c>); medians of the rounds.
/// </summary>
internal static class LlmExportParts
{
    private const int ChunkBytes = 256 << 10;

    public static void Run(string[] args)
    {
        string dir = BenchArgs.Option(args, "--dir") ?? throw new ArgumentException("llm-export-parts needs --dir CKPT (from gen-llm-checkpoint)");
        int runs = int.Parse(BenchArgs.Option(args, "--runs") ?? "3", CultureInfo.InvariantCulture);
        string only = BenchArgs.Option(args, "--only") ?? "";
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(dir);
        long weights = checkpoint.Summary.ParameterCount;
        long bytes = checkpoint.Weights.Shards.Sum(s => new FileInfo(s.Path).Length);
        string[] quantized = [.. checkpoint.Weights.Entries.Where(e => e.Shape.Rank == 2 && !e.Name.Contains("norm", StringComparison.Ordinal)).Select(e => e.Name)];
        long quantizedWeights = quantized.Sum(n => checkpoint.Weights.GetEntry(n).Shape.ElementCount);
        Console.WriteLine($"checkpoint {dir}: {bytes / 1e9:F2} GB, {weights:N0} weights ({quantizedWeights:N0} in {quantized.Length} quantized tensors); kernel {Q40Kernels.Active}; {Environment.ProcessorCount} cores");

        var table = new List<(string Stage, int Threads, Func<double> Run, long Weights)>
        {
            ("read (pread 256 KiB)", 1, () => Read(checkpoint, 1), weights),
            ("read (pread 256 KiB)", 2, () => Read(checkpoint, 2), weights),
        };
        foreach (Q40KernelKind kind in Q40Kernels.SupportedKinds.Where(k => k >= Q40KernelKind.Vector256))
        {
            table.Add(($"kernel {kind} f16 -> Q4_0, L2-resident", 1, () => Kernel(kind, quantizedWeights), quantizedWeights));
        }

        table.AddRange(
        [
            ("quantize tensors to Stream.Null", 1, () => Quantize(checkpoint, quantized, 1), quantizedWeights),
            ("quantize tensors to Stream.Null", 2, () => Quantize(checkpoint, quantized, 2), quantizedWeights),
            ("export -nv (in process)", 2, () => Export(checkpoint, 2), weights),
        ]);
        foreach ((string stage, int threads, Func<double> run, long n) in table.Where(t => t.Stage.StartsWith(only, StringComparison.Ordinal)))
        {
            run(); // warm-up: JIT, page cache
            double[] seconds = [.. Enumerable.Range(0, runs).Select(_ => run()).Order()];
            double median = seconds[seconds.Length / 2];
            Console.WriteLine($"{stage,-40} threads {threads}: median {median:F3} s of {runs} [{seconds[0]:F3}..{seconds[^1]:F3}]; {n / median / 1e9:F2} G weights/s; load {Load()}");
        }
    }

    private static double Read(LlmCheckpoint checkpoint, int threads)
    {
        var clock = Stopwatch.StartNew();
        foreach (SafetensorsFile shard in checkpoint.Weights.Shards)
        {
            using var handle = File.OpenHandle(shard.Path);
            long length = RandomAccess.GetLength(handle);
            long chunks = (length + ChunkBytes - 1) / ChunkBytes;
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                byte[] buffer = new byte[ChunkBytes];
                for (long c = t * chunks / threads; c < (t + 1) * chunks / threads; c++)
                {
                    RandomAccess.Read(handle, buffer, c * ChunkBytes);
                }
            });
        }

        return clock.Elapsed.TotalSeconds;
    }

    private static double Kernel(Q40KernelKind kind, long weights)
    {
        byte[] source = Q40Data.Values(DType.F16, ChunkBytes / 2);
        byte[] blocks = new byte[ChunkBytes / 2 / 32 * Q40Format.BlockBytes];
        long reps = Math.Max(1, weights / (ChunkBytes / 2));
        var clock = Stopwatch.StartNew();
        for (long r = 0; r < reps; r++)
        {
            Q40Kernels.QuantizeMinMax(kind, DType.F16, source, blocks, percentile: 1f);
        }

        return clock.Elapsed.TotalSeconds;
    }

    private static double Quantize(LlmCheckpoint checkpoint, string[] names, int threads)
    {
        var options = new Q40QuantizeOptions { MaxDegreeOfParallelism = threads };
        var clock = Stopwatch.StartNew();
        foreach (string name in names)
        {
            using Tensor t = checkpoint.Weights.GetTensor(name);
            Q40Quantizer.WriteBlocks(t, Stream.Null, name, options: options);
        }

        return clock.Elapsed.TotalSeconds;
    }

    private static double Export(LlmCheckpoint checkpoint, int threads)
    {
        string output = Path.Combine(Path.GetTempPath(), "t2n-llm-export-parts-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var options = new LlmExportOptions
        {
            ExportDirectory = output,
            ForceDType = DType.F16,
            ForceF32Attention = true,
            Compression = CompressionRegistry.Default.Get("min_max_q4_0_all"),
            Verify = false,
            Threads = threads,
        };
        try
        {
            var clock = Stopwatch.StartNew();
            LlmExporter.Export(checkpoint, options);
            return clock.Elapsed.TotalSeconds;
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    private static string Load() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
