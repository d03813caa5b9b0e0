using System.Diagnostics;
using TorchToNnef.Errors;
using TorchToNnef.Export.Llm.Building;
using TorchToNnef.Export.Llm.Weights;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.IO;
using TorchToNnef.Quant;

namespace TorchToNnef.Export.Llm.Exporting;

/// <summary>
/// <c>t2n export-llm</c>: a Hugging Face decoder checkpoint to the reference tool's export folder
/// (<c>llm-export.md</c> §2, §4): <c>model.nnef.tgz</c> (gzip level 0, as the reference tool), <c>modes.json</c>,
/// optionally <c>config.json</c> and the tokenizer, and unless <see cref="LlmExportOptions.Verify"/> is off the
/// verification and its <c>tests/*.npz</c> (<see cref="LlmExportVerifier"/>). Everything is written into a temporary
/// folder by the output policy and moved into place only when complete and verified: a failure, a mismatch or a
/// cancellation leaves nothing at the destination, and the checkpoint is never written.
/// </summary>
public static class LlmExporter
{
    private const string ModesJson = "{\"pytorch_supported_modes\": [\"prompt\", \"prompt_with_past\", \"text_generation\"]}";

    /// <summary>Exports <paramref name="checkpoint"/> (open and validated) as <paramref name="options"/> say.</summary>
    /// <exception cref="OutputRefusedException">The destination exists and is not a replaceable export, or overlaps the input.</exception>
    /// <exception cref="LlmVerificationException">The archive does not match the reference pass; nothing was written.</exception>
    public static LlmExportResult Export(LlmCheckpoint checkpoint, LlmExportOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.NumLogitsToKeep);
        if (options.SampleGenerationTotalSize < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.SampleGenerationTotalSize, "the sample generation size must be at least 2");
        }

        var clock = Stopwatch.StartNew();
        LlmPrecision precision = LlmPrecision.For(options.ForceDType, options.ForceF32Attention, checkpoint.Config.ModelType);
        TractVersion version = options.TractVersion ?? TractVersion.Latest;
        LlmExportDirStruct layout = options.DirStruct;
        Approximation tolerance = options.Tolerance ?? LlmExportOptions.DefaultTolerance(precision.Weights);
        options = options with { Tolerance = tolerance };

        using var transaction = new OutputTransaction(new OutputOptions { Overwrite = options.ReplaceExisting, Notice = options.Log }, cancellation);
        transaction.AddInput(checkpoint.Files.ModelDir);
        if (checkpoint.Files.TokenizerDir is string tokenizerDir)
        {
            transaction.AddInput(tokenizerDir);
        }

        OutputTarget target = transaction.AddOutput(options.ExportDirectory, LlmExportLayout.ExportFolder);

        var quantizeOptions = new Q40QuantizeOptions { MaxDegreeOfParallelism = options.Threads > 0 ? options.Threads : Environment.ProcessorCount, AllowNonFinite = options.AllowNonFinite };
        WeightPlan plan = WeightPlan.Create(checkpoint, precision.Weights, options.Compression, quantizeOptions);
        foreach (FloatWeight w in plan.LeftFloat)
        {
            options.Log?.Invoke($"warning: {w.Label} stays float: {w.Reason}");
        }

        // The writer's producer threads follow --threads too (its default is every core), so --threads 1 is one thread.
        var write = new NnefWriteOptions
        {
            Format = NnefArchiveFormat.Tgz,
            CompressionLevel = 0,
            TractVersion = version,
            FlushToDisk = options.FlushToDisk,
            MaxDegreeOfParallelism = quantizeOptions.MaxDegreeOfParallelism,
        };

        // The weights are read, converted and quantized from here on, on the other cores, while this thread builds and
        // types the graph and plans the archive (one core's work): the builder creates each weight's variable at its
        // first use, in model order, which is the plan's order, so the archive stores them in the order started (the
        // writer checks; the few small constants the builder makes are written by the writer itself).
        string archive = LlmExportLayout.Archive(layout);
        string root;
        using (NnefPayloadProducers producers = NnefPayloadProducers.Start([.. plan.Weights.Select(w => w.Source)], write, target.Cancellation))
        {
            Graph graph = DecoderGraphBuilder.Build(checkpoint.Architecture, plan, precision, options.NumLogitsToKeep);
            LlmProperties.Apply(graph, checkpoint, precision, options, version);
            options.EditGraph?.Invoke(graph);

            root = target.CreateDirectory();
            if (LlmExportLayout.TokenizerFolder(layout) is string tokenizerFolder)
            {
                target.CreateDirectoryIn(tokenizerFolder);
            }

            NnefArchive.WriteArchive(graph, target.CreateFileIn(archive), write, producers);
        }

        options.Log?.Invoke($"wrote {archive} ({new FileInfo(Path.Combine(root, archive)).Length:N0} bytes) in {clock.Elapsed.TotalSeconds:F1} s");

        using (FileStream modes = target.CreateFileIn(LlmExportLayout.ModesFile))
        {
            modes.Write(System.Text.Encoding.UTF8.GetBytes(ModesJson));
        }

        if (options.DumpTokenizerAndConfig)
        {
            Copy(target, checkpoint.Files.ConfigPath, LlmExportLayout.Config(layout));
            foreach (string file in checkpoint.Files.TokenizerFiles)
            {
                Copy(target, file, LlmExportLayout.Tokenizer(layout, Path.GetFileName(file)));
            }
        }

        TimeSpan writeTime = clock.Elapsed;
        IReadOnlyList<LlmModeCheck> checks = [];
        TimeSpan verifyTime = TimeSpan.Zero;
        if (options.Verify)
        {
            var verifyClock = Stopwatch.StartNew();
            checks = LlmExportVerifier.Verify(checkpoint.Architecture, precision, Path.Combine(root, archive), target, options, cancellation);
            verifyTime = verifyClock.Elapsed;
            LlmModeCheck[] failed = [.. checks.Where(c => !c.Passed)];
            if (failed.Length > 0)
            {
                string details = string.Join(
                    Environment.NewLine,
                    failed.SelectMany(c => c.Outputs.Where(o => !o.Passed).Select(o =>
                        $"  {c.Mode} (P={c.PastLength}, S={c.NewTokens}) {o.Name}: {o.Outliers} of {o.Count} outside {Tolerance.NameOf(tolerance)}, max abs error {o.MaxAbsError:G4}")));
                throw new LlmVerificationException(
                    $"The exported graph does not match the reference forward pass at '{Tolerance.NameOf(tolerance)}' (verified in {verifyTime.TotalSeconds:F1} s); nothing was written to {options.ExportDirectory}:{Environment.NewLine}{details}",
                    checks);
            }

            options.Log?.Invoke($"verified {checks.Count} modes against the reference forward pass at '{Tolerance.NameOf(tolerance)}' in {verifyTime.TotalSeconds:F1} s");
        }

        transaction.Commit();
        return new LlmExportResult(
            target.FullPath,
            Path.Combine(target.FullPath, archive),
            checkpoint.Summary.ParameterCount,
            plan.Weights.Count(w => w.Quantized),
            writeTime,
            verifyTime,
            checks,
            tolerance);
    }

    private static void Copy(OutputTarget target, string from, string relative)
    {
        using FileStream source = File.OpenRead(from);
        using FileStream destination = target.CreateFileIn(relative);
        source.CopyTo(destination);
    }
}
