using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TorchToNnef.Export.Llm;
using TorchToNnef.Export.Llm.Exporting;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.IO;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;

namespace TorchToNnef.Cli.Commands;

/// <summary>
/// <c>t2n export-llm</c>: a Hugging Face decoder checkpoint to a tract NNEF export folder, with the reference tool's
/// flags (<c>t2n_export_llm_to_tract</c>, <c>llm-export.md</c> §1). Parsing only; the work is <see cref="LlmExporter"/>.
/// </summary>
internal sealed class ExportLlmCommand : ICommand
{
    public string Name => "export-llm";

    /// <summary>The reference tool's flag: <c>-iaed</c> replaces an export folder (this command has no <c>--overwrite</c>).</summary>
    public string ReplaceFlag => "-iaed";

    public string Summary => "Export a Hugging Face decoder checkpoint (llama, mistral, qwen2, qwen3, phi3) to tract NNEF, optionally Q4_0";

    public Command Define() => Opt.Command(Name, Summary, """
        Give -d <dir> or -s <org/name>, and -e <export-dir>. Writes the folder torch_to_nnef's t2n_export_llm_to_tract
        writes (model/model.nnef.tgz, modes.json, tests/*.npz), then re-reads the archive, runs it with the managed
        evaluator on a prompt, a prompt after a cache, one-token steps, and compares every output with a direct forward
        pass over the archive's weights. A mismatch fails the export (exit code 1) and leaves nothing at the destination.
        """,
        Opt.Value("--local-dir", "dir", "local checkpoint (config.json + safetensors, single or sharded)", "-d"),
        Opt.Value("--model-slug", "org/name", "a model already in the Hugging Face cache (offline: nothing is downloaded)", "-s"),
        Opt.Value("--export-dirpath", "dir", "the export folder (must not exist unless -iaed)", "-e"),
        Opt.Value("--force-module-dtype", "f32|f16", "float type of weights and activations (default f32)", "-dt").Completing(["f32", "f16"]),
        Opt.Flag("--force-f32-attention", "attention scores, mask and softmax in f32 in an f16 export", "-f32-attn"),
        Opt.Value("--compression-method", "method", $"one of: {string.Join(", ", CompressionRegistry.Default.Keys)}", "-c").Completing(Opt.CompressionMethods),
        Opt.Value("--tract-specific-version", "v", $"target tract version (default {TractVersion.Latest})"),
        Opt.Flag("--dump-with-tokenizer-and-conf", "also write config.json and the tokenizer files", "-dwtac"),
        Opt.Value("--export-dir-struct", "deep|flat", "layout (default deep)").Completing(["deep", "flat"]),
        Opt.Value("--num-logits-to-keep", "n", "logits of the last n positions, 0 = all (default 1)"),
        Opt.Value("--tract-check-io-tolerance", "level", "exact, close, approximate, very, super, ultra (default: approximate for f32, very for f16; see the README)", "-tt").Completing(Opt.ToleranceLevels),
        Opt.Value("--sample-generation-total-size", "n", "tokens of the test bundles (default 6, at least 2)", "-sgts"),
        Opt.Flag("--no-verify", "skip the verification and tests/*.npz", "-nv"),
        Opt.Flag("--ignore-already-exist-dir", "replace an existing export folder (only one an export wrote)", "-iaed"),
        Opt.Value("--threads", "n", "threads (default: all cores)"),
        Opt.Flag("--allow-non-finite", "keep Q4_0 blocks whose f16 scale is NaN or infinite (NaN weights, values near 3e38); by default they are an error and nothing is written"));

    public int Execute(CommandArgs a, CommandContext context)
    {
        TextWriter stdout = context.Out;
        string? local = a.Get("--local-dir");
        string? slug = a.Get("--model-slug");
        if ((local is null) == (slug is null))
        {
            throw new UsageException("give exactly one of -d <dir> and -s <org/name>");
        }

        string export = a.Get("--export-dirpath") ?? throw new UsageException("missing -e <export-dir>");
        DType? dtype = a.Get("--force-module-dtype") switch
        {
            null => null,
            "f32" => DType.F32,
            "f16" => DType.F16,
            string other => throw new UsageException($"-dt must be f32 or f16, got '{other}' (NNEF stores no bf16 weights)"),
        };
        CompressionMethod? method = null;
        string? key = a.Get("--compression-method");
        if (key is not null && !CompressionRegistry.Default.TryGet(key, out method))
        {
            string hint = Suggestions.Closest(key, CompressionRegistry.Default.Keys) is string close ? $" (did you mean '{close}'?)" : string.Empty;
            throw new UsageException($"unknown compression method '{key}'{hint}; known: {string.Join(", ", CompressionRegistry.Default.Keys)}");
        }

        TractVersion? version = a.Get("--tract-specific-version") is string v
            ? (TractVersion.TryParse(v, out TractVersion parsed) ? parsed : throw new UsageException($"'{v}' is not a tract version (e.g. 0.22.0)"))
            : null;
        LlmExportDirStruct layout = a.Get("--export-dir-struct") switch
        {
            null or "deep" => LlmExportDirStruct.Deep,
            "flat" => LlmExportDirStruct.Flat,
            string other => throw new UsageException($"--export-dir-struct must be deep or flat, got '{other}'"),
        };
        Approximation? tolerance = null;
        if (a.Get("--tract-check-io-tolerance") is string t)
        {
            tolerance = Tolerance.TryParseLevel(t, out Approximation level)
                ? level
                : throw new UsageException($"unknown tolerance '{t}'; known: exact, close, approximate, very, super, ultra");
        }

        var options = new LlmExportOptions
        {
            ExportDirectory = export,
            ForceDType = dtype,
            ForceF32Attention = a.Has("--force-f32-attention"),
            Compression = method,
            TractVersion = version,
            DumpTokenizerAndConfig = a.Has("--dump-with-tokenizer-and-conf"),
            DirStruct = layout,
            NumLogitsToKeep = Count(a, "--num-logits-to-keep", 1, 0),
            Tolerance = tolerance,
            SampleGenerationTotalSize = Count(a, "--sample-generation-total-size", 6, 2),
            Verify = !a.Has("--no-verify"),
            ReplaceExisting = a.Has("--ignore-already-exist-dir"),
            Threads = Count(a, "--threads", 0, 1),
            AllowNonFinite = a.Has("--allow-non-finite"),
            ExportCommand = "t2n " + string.Join(' ', a.Result.Tokens.Select(token => token.Value)),
            Log = m => context.Notice(TerminalText.Escape(m)),
        };

        CommandSummary summary = context.Summary;
        summary.Method = key;
        summary.TractVersion = (version ?? TractVersion.Latest).ToString();
        var clock = Stopwatch.StartNew();
        using SerialPhaseGc serialPhase = SerialPhaseGc.Start();
        using LlmCheckpoint checkpoint = local is not null ? LlmCheckpoint.OpenDirectory(local) : LlmCheckpoint.OpenCached(slug!);
        summary.Inputs.Add(checkpoint.Files.ModelDir);
        summary.BytesBefore = PathSizes.Of(checkpoint.Files.ModelDir);
        context.Notice(
            $"{checkpoint.Config.ModelType}, {checkpoint.Summary.ParameterCount:N0} parameters ({checkpoint.Summary.MainWeightDType.Name()}) from {TerminalText.Escape(checkpoint.Files.ModelDir)}");
        try
        {
            LlmExportResult r = LlmExporter.Export(checkpoint, options, context.Cancellation);
            double seconds = r.WriteTime.TotalSeconds;
            summary.Outputs.Add(r.ExportDirectory);
            summary.BytesAfter = PathSizes.Of(r.ExportDirectory);
            summary.Quantized = r.QuantizedTensors;
            summary.Checks = Checks(r.Checks);
            stdout.WriteLine(
                $"exported {r.Weights:N0} weights ({r.QuantizedTensors} tensor(s) Q4_0) to {TerminalText.Escape(r.Archive)} in {seconds:F2} s "
                + $"({r.Weights / Math.Max(seconds, 1e-9) / 1e9:F2} G weights/s)");
            stdout.WriteLine(options.Verify
                ? $"verified against the reference forward pass ({string.Join(", ", r.Checks.Select(c => c.Mode))}) at '{Tolerance.NameOf(r.Tolerance)}' in {r.VerifyTime.TotalSeconds:F2} s"
                : "not verified (-nv)");
            stdout.WriteLine($"total {clock.Elapsed.TotalSeconds:F2} s");
            context.Detail($"{serialPhase.Collections} garbage collection(s) since the start");
            return ExitCodes.Success;
        }
        catch (LlmVerificationException e)
        {
            // The export ran but does not compute what the checkpoint does: a failed check, and nothing was left behind.
            // One line for the failure, then the per-mode figures the exporter listed (the summary has them all).
            summary.Checks = Checks(e.Checks);
            string[] lines = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            context.Fail($"error: {lines[0]}");
            foreach (string line in lines.Skip(1))
            {
                context.Notice(TerminalText.Escape(line));
            }

            return ExitCodes.CheckFailed;
        }
    }

    // Every compared output of every mode, named "<mode>/<output>".
    private static List<OutputCheckSummary> Checks(IReadOnlyList<LlmModeCheck> checks) =>
        [.. checks.SelectMany(c => c.Outputs.Select(o => new OutputCheckSummary($"{c.Mode}/{o.Name}", o.Passed, o.MaxAbsError, o.MaxRelError, o.Outliers, o.Count, o.Detail)))];

    private static int Count(CommandArgs a, string option, int fallback, int min)
    {
        if (a.Get(option) is not string text)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min
            ? n
            : throw new UsageException($"{option} must be an integer >= {min}, got '{text}'");
    }
}
