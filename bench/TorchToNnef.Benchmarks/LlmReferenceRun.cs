using System.Diagnostics;
using System.Globalization;
using TorchToNnef.Export.Llm;
using TorchToNnef.Export.Llm.Reference;
using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release -- llm-reference [--dir DIR] [--keep] [--tokens N] [--size 1.1b|7b|7b-2l|8b|8b-2l|tiny]</c>: generates a
/// synthetic f16 checkpoint with real shapes (default 1.1B, TinyLlama's: hidden 2048, 22 layers, MLP 5632, vocabulary
/// 32000, 32 query / 4 KV heads; two shards and an index), times reading its files once (the <c>cat</c> baseline),
/// then times the reference forward pass on an N-token prompt and on one token after it (f32 and f16), reporting
/// wall time and peak RSS (VmHWM, file-backed pages included, reset before each pass). The generated files are
/// deleted at the end unless <c>--keep</c>. Not a BenchmarkDotNet suite: one cold-ish end-to-end measurement.
/// </summary>
internal static class LlmReferenceRun
{
    public static void Run(string[] args)
    {
        string dir = BenchArgs.Option(args, "--dir") ?? Path.Combine(Path.GetTempPath(), "t2n-llm-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        bool keep = args.Contains("--keep");
        int tokens = int.Parse(BenchArgs.Option(args, "--tokens") ?? "8", CultureInfo.InvariantCulture);
        string size = BenchArgs.Option(args, "--size") ?? "1.1b";
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
        {
            throw new IOException($"{dir} exists and is not empty; pass an empty or new --dir.");
        }

        try
        {
            Generate(dir, size);
            ReadBaseline(dir);
            foreach (ReferencePrecision precision in new[] { ReferencePrecision.F32, ReferencePrecision.F16 })
            {
                Forward(dir, tokens, precision);
            }
        }
        finally
        {
            if (!keep && Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
                Console.WriteLine($"deleted {dir}");
            }
        }
    }

    /// <summary><c>gen-llm-checkpoint --dir DIR [--size 1.1b|7b|7b-2l|8b|8b-2l|7b-&lt;N&gt;l|8b-&lt;N&gt;l|tiny]</c>: only writes the synthetic checkpoint (kept).</summary>
    public static void GenerateOnly(string[] args)
    {
        string dir = BenchArgs.Option(args, "--dir") ?? throw new ArgumentException("gen-llm-checkpoint needs --dir DIR");
        Generate(dir, BenchArgs.Option(args, "--size") ?? "1.1b");
    }

    private static void Generate(string dir, string size)
    {
        string config = size switch
        {
            "1.1b" => Config(hidden: 2048, layers: 22, intermediate: 5632, vocab: 32000, heads: 32, kvHeads: 4),
            "tiny" => Config(hidden: 256, layers: 4, intermediate: 512, vocab: 1000, heads: 8, kvHeads: 2),

            // Llama-2-7B's shapes (13.5 GB of f16): checks that export and verification memory stay flat with size.
            "7b" => SevenB(layers: 32),

            // Llama-3-8B's shapes (16 GB of f16): a 128k vocabulary (the output head alone is 1 GB of f16, 295 MB of Q4_0)
            // and grouped-query attention; untied, as Llama-3-8B.
            "8b" => EightB(layers: 32),

            // 7B's or 8B's widths with N layers (7b-2l, 8b-16l, ...). With two layers (1.3 and 2.6 GB) whatever grows with
            // the widths (embedding, output head, the largest matrices) shows in a minute and whatever grows with the depth
            // does not; 8b-2l against 7b-2l is the vocabulary; the steps between 2 and 32 layers tell what grows with the
            // depth at full widths without writing the whole model.
            _ when DepthVariant(size) is (string widths, int layers) => widths == "7b" ? SevenB(layers) : EightB(layers),
            _ => throw new ArgumentException($"Unknown --size {size} (1.1b, 7b, 7b-2l, 8b, 8b-2l, 7b-<N>l, 8b-<N>l, tiny)."),
        };
        Directory.CreateDirectory(dir);
        string configPath = Path.Combine(dir, "config.json");
        File.WriteAllText(configPath, config);
        DecoderArchitecture arch = DecoderArchitecture.Resolve(DecoderConfig.Read(configPath));
        var clock = Stopwatch.StartNew();
        long bytes = SyntheticCheckpoint.Write(dir, config, arch.Tensors.Select(t => (t.Name, t.Shape)).ToList(), DType.F16, shards: 2, seed: 7);
        Console.WriteLine($"generated {size}: {bytes / 1e9:F2} GB f16 in 2 shards in {clock.Elapsed.TotalSeconds:F1} s; peak RSS {ProcessStats.PeakMb():F0} MB");
    }

    private static string SevenB(int layers) => Config(hidden: 4096, layers: layers, intermediate: 11008, vocab: 32000, heads: 32, kvHeads: 32);

    private static string EightB(int layers) => Config(hidden: 4096, layers: layers, intermediate: 14336, vocab: 128256, heads: 32, kvHeads: 8);

    // "7b-8l" -> ("7b", 8); null when the size is not of that form.
    private static (string Widths, int Layers)? DepthVariant(string size)
    {
        string[] parts = size.Split('-');
        return parts.Length == 2 && parts[0] is "7b" or "8b" && parts[1].EndsWith('l')
            && int.TryParse(parts[1].AsSpan(0, parts[1].Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int layers) && layers > 0
            ? (parts[0], layers)
            : null;
    }

    private static void ReadBaseline(string dir)
    {
        var buffer = new byte[1 << 20];
        long total = 0;
        var clock = Stopwatch.StartNew();
        foreach (string file in Directory.GetFiles(dir, "*.safetensors"))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            int n;
            while ((n = stream.Read(buffer)) > 0)
            {
                total += n;
            }
        }

        Console.WriteLine($"read baseline: {total / 1e9:F2} GB in {clock.Elapsed.TotalSeconds:F2} s ({total / 1e9 / clock.Elapsed.TotalSeconds:F2} GB/s)");
    }

    private static void Forward(string dir, int tokens, ReferencePrecision precision)
    {
        ProcessStats.ResetPeak();
        var clock = Stopwatch.StartNew();
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(dir);
        double open = clock.Elapsed.TotalSeconds;
        var reference = new DecoderReference(checkpoint, precision);
        long[] prompt = Enumerable.Range(0, tokens).Select(i => (long)((i * 7919) % checkpoint.Config.VocabSize)).ToArray();
        TimeSpan cpu0 = ProcessStats.CpuTime();
        clock.Restart();
        ForwardResult first = reference.Run(prompt);
        double promptSeconds = clock.Elapsed.TotalSeconds;
        TimeSpan cpu1 = ProcessStats.CpuTime();
        clock.Restart();
        ForwardResult step = reference.Run([42], first.Caches);
        double stepSeconds = clock.Elapsed.TotalSeconds;
        double stepCpu = (ProcessStats.CpuTime() - cpu1).TotalSeconds;
        bool finite = first.Logits.Concat(step.Logits).All(float.IsFinite);
        double weights = checkpoint.Summary.ParameterCount;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"reference {precision}: open+validate {open:F2} s; prompt S={tokens}: {promptSeconds:F2} s wall, {(cpu1 - cpu0).TotalSeconds:F2} s CPU; " +
            $"one token after it: {stepSeconds:F2} s wall, {stepCpu:F2} s CPU ({weights / 1e9:F2} G weights: {weights / stepSeconds / 1e9:F2} G/s wall, " +
            $"{weights / stepCpu / 1e9:F2} G per CPU-second); peak RSS {ProcessStats.PeakMb():F0} MB; logits finite: {finite}"));
    }

    private static string Config(int hidden, int layers, int intermediate, int vocab, int heads, int kvHeads) =>
        string.Create(CultureInfo.InvariantCulture, $$"""
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": {{hidden}}, "num_hidden_layers": {{layers}},
             "intermediate_size": {{intermediate}}, "vocab_size": {{vocab}}, "num_attention_heads": {{heads}}, "num_key_value_heads": {{kvHeads}},
             "max_position_embeddings": 2048, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "rope_scaling": null, "hidden_act": "silu",
             "tie_word_embeddings": false, "torch_dtype": "float16"}
            """);
}
