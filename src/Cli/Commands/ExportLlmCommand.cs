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

    public string Usage => $"""
        Usage: t2n export-llm (-d <dir> | -s <org/name>) -e <export-dir> [options]

        Writes the folder torch_to_nnef's t2n_export_llm_to_tract writes (model/model.nnef.tgz, modes.json,
        tests/*.npz), then re-reads the archive, runs it with the managed evaluator on a prompt, a prompt after a
        cache, one-token steps, and compares every output with a direct forward pass over the archive's weights.
        A mismatch fails the export and leaves nothing at the destination.

          -d, --local-dir <dir>                  local checkpoint (config.json + safetensors, single or sharded)
          -s, --model-slug <org/name>            a model already in the Hugging Face cache (offline: nothing is downloaded)
          -e, --export-dirpath <dir>             the export folder (must not exist unless -iaed)
          -dt, --force-module-dtype <f32|f16>    float type of weights and activations (default f32)
          -f32-attn, --force-f32-attention       attention scores, mask and softmax in f32 in an f16 export
          -c, --compression-method <method>      one of: {string.Join(", ", CompressionRegistry.Default.Keys)}
          --tract-specific-version <v>           target tract version (default {TractVersion.Latest})
          -dwtac, --dump-with-tokenizer-and-conf also write config.json and the tokenizer files
          --export-dir-struct <deep|flat>        layout (default deep)
          --num-logits-to-keep <n>               logits of the last n positions, 0 = all (default 1)
          -tt, --tract-check-io-tolerance <lvl>  exact, close, approximate, very, super, ultra (default:
                                                 approximate for f32, very for f16; see the README)
          -sgts, --sample-generation-total-size <n>  tokens of the test bundles (default 6, at least 2)
          -nv, --no-verify                       skip the verification and tests/*.npz
          -iaed, --ignore-already-exist-dir      replace an existing export folder (only one an export wrote)
          --threads <n>                          threads (default: all cores)
        """;

    public int Execute(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellation)
    {
        var a = new ArgList(
            args,
            [
                "--local-dir|-d", "--model-slug|-s", "--export-dirpath|-e", "--force-module-dtype|-dt", "--compression-method|-c",
                "--tract-specific-version", "--export-dir-struct", "--num-logits-to-keep", "--tract-check-io-tolerance|-tt",
                "--sample-generation-total-size|-sgts", "--threads",
            ],
            ["--force-f32-attention|-f32-attn", "--dump-with-tokenizer-and-conf|-dwtac", "--no-verify|-nv", "--ignore-already-exist-dir|-iaed"]);
        if (a.Positionals.Count > 0)
        {
            throw new UsageException($"unexpected argument '{a.Positionals[0]}'");
        }

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
        if (a.Get("--compression-method") is string key && !CompressionRegistry.Default.TryGet(key, out method))
        {
            throw new UsageException($"unknown compression method '{key}'; known: {string.Join(", ", CompressionRegistry.Default.Keys)}");
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
            ExportCommand = "t2n export-llm " + string.Join(' ', args),
            Log = m => stderr.WriteLine($"t2n export-llm: {TerminalText.Escape(m)}"),
        };

        var clock = Stopwatch.StartNew();
        using LlmCheckpoint checkpoint = local is not null ? LlmCheckpoint.OpenDirectory(local) : LlmCheckpoint.OpenCached(slug!);
        stderr.WriteLine(
            $"t2n export-llm: {checkpoint.Config.ModelType}, {checkpoint.Summary.ParameterCount:N0} parameters ({checkpoint.Summary.MainWeightDType.Name()}) from {TerminalText.Escape(checkpoint.Files.ModelDir)}");
        try
        {
            LlmExportResult r = LlmExporter.Export(checkpoint, options, cancellation);
            double seconds = r.WriteTime.TotalSeconds;
            stdout.WriteLine(
                $"exported {r.Weights:N0} weights ({r.QuantizedTensors} tensor(s) Q4_0) to {TerminalText.Escape(r.Archive)} in {seconds:F2} s "
                + $"({r.Weights / Math.Max(seconds, 1e-9) / 1e9:F2} G weights/s)");
            stdout.WriteLine(options.Verify
                ? $"verified against the reference forward pass ({string.Join(", ", r.Checks.Select(c => c.Mode))}) at '{Tolerance.NameOf(r.Tolerance)}' in {r.VerifyTime.TotalSeconds:F2} s"
                : "not verified (-nv)");
            stdout.WriteLine($"total {clock.Elapsed.TotalSeconds:F2} s");
            return 0;
        }
        catch (LlmVerificationException e)
        {
            stderr.WriteLine($"t2n export-llm: error: {TerminalText.Escape(e.Message, keepLineFeeds: true)}");
            return 1;
        }
    }

    private static int Count(ArgList a, string option, int fallback, int min)
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
