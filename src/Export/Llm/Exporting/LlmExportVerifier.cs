using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Llm.Reference;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.IO;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Llm.Exporting;

/// <summary>
/// The export's check-io without tract (<c>llm-export.md</c> §8): the written archive is read back and run by
/// <see cref="GraphEvaluator"/> in four modes — <c>prompt</c> (S = N, P = 0), <c>prompt_with_past</c> (S = N/2 after
/// N/2 cached), <c>text_generation</c> (S = 1 after N-1 cached) and <c>export</c> (S = 1 after 2 cached), N =
/// <c>-sgts</c> — and each output is compared with <see cref="DecoderReference"/>, a forward pass written straight
/// over the archive's own weights (Q4_0 ones dequantized exactly), not via the graph, in the export's precision.
/// Past caches come from the reference pass over the earlier tokens (real keys and values). Each mode's inputs and
/// the evaluator's outputs are written as <c>tests/&lt;mode&gt;_io.npz</c> (f16 stored as f32, as the reference
/// tool does); token ids are a fixed pseudo-random draw, so runs are reproducible.
/// </summary>
internal static class LlmExportVerifier
{
    private const int TokenSeed = 20240101;

    public static IReadOnlyList<LlmModeCheck> Verify(
        DecoderArchitecture arch, LlmPrecision precision, string archivePath, OutputTarget target, LlmExportOptions options, CancellationToken cancellation)
    {
        DecoderConfig c = arch.Config;
        Graph graph = NnefArchive.Read(archivePath);
        Dictionary<string, Variable> byLabel = graph.Variables.Values.ToDictionary(v => v.Label, StringComparer.Ordinal);

        // Weights are opened for one use and dropped, by the reference pass (a tensor per product, read by offset) and
        // by the evaluator (ReleaseWeightsAfterUse): the check holds activations and about one layer's weights, whatever
        // the number of layers, instead of the whole model.
        Tensor Weight(string name)
        {
            string label = Weights.WeightPlan.LabelOf(name); // a tied output projection is named as the embedding
            Variable v = byLabel.TryGetValue(label, out Variable? found)
                ? found
                : throw new InvalidDataException($"{archivePath}: the archive has no variable '{label}'");
            return v.Source.Open();
        }

        int threads = options.Threads > 0 ? options.Threads : -1;
        var reference = new DecoderReference(arch, Weight, ownsWeights: true, precision.Reference, threads);
        // Each mode's outputs are compared and written to its bundle before the next mode runs, so the next run may
        // write into their storage (the caches of one mode have the shape of the next one's) instead of faulting in
        // fresh arrays.
        var evaluation = new EvaluationOptions
        {
            MaxDegreeOfParallelism = Math.Max(0, options.Threads),
            Cancellation = cancellation,
            ReuseOutputStorage = true,
            ReleaseWeightsAfterUse = true,
        };
        int n = options.SampleGenerationTotalSize;
        var random = new Random(TokenSeed);
        long[] tokens = [.. Enumerable.Range(0, n).Select(_ => (long)random.Next(c.VocabSize))];

        // One evaluator for the four modes (its preparation of the statements serves all four); each run re-reads every
        // weight and drops it after its last use.
        var evaluator = new GraphEvaluator(graph, evaluation);
        options.VerificationPhaseDone?.Invoke("open");
        var checks = new List<LlmModeCheck>(4);
        (string Mode, int Past, int New)[] modes = [("prompt", 0, n), ("prompt_with_past", n / 2, n - (n / 2)), ("text_generation", n - 1, 1), ("export", 2, 1)];
        foreach ((string mode, int past, int count) in modes)
        {
            cancellation.ThrowIfCancellationRequested();
            long[] all = mode == "export" ? [.. tokens.Take(3)] : tokens;
            checks.Add(VerifyMode(mode, all, past, count, c, precision, reference, evaluator, target, options));
        }

        return checks;
    }

    // One mode, in a method of its own so that nothing of it outlives it but its check: its inputs, the reference's and
    // the evaluator's outputs and the bundle's copies hold every layer's cache (about 1 MB per layer at 7B widths), and
    // kept by the caller's frame (the loop's temporaries) while the next mode ran, they made the verification's memory
    // grow with the model's depth. Not inlined, for the same reason.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static LlmModeCheck VerifyMode(
        string mode, long[] all, int past, int count, DecoderConfig c, LlmPrecision precision, DecoderReference reference, GraphEvaluator evaluator,
        OutputTarget target, LlmExportOptions options)
    {
        IReadOnlyList<KvCache> cache = past == 0
            ? [.. Enumerable.Range(0, c.NumLayers).Select(_ => KvCache.Empty(c.NumKeyValueHeads, c.HeadDim))]
            : reference.Run(all.AsSpan(0, past), null, logitsToKeep: 1).Caches;
        long[] step = all[past..(past + count)];
        ForwardResult expected = reference.Run(step, cache, options.NumLogitsToKeep);
        options.VerificationPhaseDone?.Invoke($"{mode} reference");
        List<NamedTensor> inputs = Inputs(step, cache, precision);
        IReadOnlyList<NamedTensor> got = evaluator.Run(inputs);
        options.VerificationPhaseDone?.Invoke($"{mode} evaluator");
        Dictionary<string, TensorValue> want = ReferenceBundles.ToOutputs(expected, precision.Reference).ToDictionary(o => o.Name, o => o.Value, StringComparer.Ordinal);
        List<OutputComparison> comparisons = [.. got.Select(o => OutputComparison.Compare(o.Name, want[o.Name], o.Value, options.Tolerance ?? LlmExportOptions.DefaultTolerance(precision.Weights)))];
        using FileStream npz = target.CreateFileIn(LlmExportLayout.TestBundle(mode));
        IoBundle.WriteNpz(npz, inputs.Concat(got).Select(t => t.Value.Type == DatumType.F16 ? new NamedTensor(t.Name, Cast.To(t.Value, DatumType.F32)) : t));
        return new LlmModeCheck(mode, past, count, comparisons);
    }

    private static List<NamedTensor> Inputs(long[] ids, IReadOnlyList<KvCache> past, LlmPrecision precision)
    {
        var inputs = new List<NamedTensor> { new(LlmIoNames.InputIds, TensorValue.Create(DatumType.I64, [1, ids.Length], ids)) };
        for (int i = 0; i < past.Count; i++)
        {
            KvCache k = past[i];
            int[] shape = [1, k.KvHeads, k.Length, k.HeadDim];
            inputs.Add(new(LlmIoNames.InCacheKey(i), Value(shape, k.Keys, precision)));
            inputs.Add(new(LlmIoNames.InCacheValue(i), Value(shape, k.Values, precision)));
        }

        return inputs;
    }

    private static TensorValue Value(int[] shape, float[] values, LlmPrecision precision) =>
        precision.IsHalf ? TensorValue.Create(DatumType.F16, shape, Array.ConvertAll(values, v => (Half)v)) : TensorValue.F32(shape, values);
}
