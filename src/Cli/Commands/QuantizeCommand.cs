using System.CommandLine;
using System.Globalization;
using TorchToNnef.Export.Pipeline;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.IO;
using TorchToNnef.Quant;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;

namespace TorchToNnef.Cli.Commands;

/// <summary>
/// <c>t2n quantize</c>: parses its options, runs <see cref="ModelPipeline.QuantizeCheckpoint"/> (the eligible tensors
/// of a safetensors file or checkpoint to tract Q4_0 <c>.dat</c> files, checked before anything is written, committed
/// together) and prints what it did, naming the tensors kept in float.
/// </summary>
internal sealed class QuantizeCommand : ICommand
{
    private const long ProgressThresholdBytes = 64L << 20;
    private const int MaxRenamedShown = 20;
    private const string DefaultMethod = "min_max_q4_0";

    public string Name => "quantize";

    public string Summary => "Quantize the weight matrices of a safetensors checkpoint to tract Q4_0 .dat files";

    public Command Define() => Opt.Command(Name, Summary, $"""
        Writes <dir>/<tensor name>.dat for every eligible tensor, as tract Q4_0 with an f16 scale per group of 32
        values. Eligible tensors are f32, f16 or bf16, of rank 2 to 4, with rows (the dimensions after the first) a
        multiple of 32 values, like the Linear and Embedding weights the reference tool quantizes; the others (norms,
        biases) are kept in float and named (with --strict they are an error, and nothing is written). A name that is
        not usable as a file name as it is ('/', control characters, a clash ignoring case, over 200 bytes) gets a
        safe, unique file name, and <dir>/{TensorFileIndex.FileName} maps every tensor name to its file.
        """,
        Opt.Path("input", "a .safetensors file, a sharded *.safetensors.index.json, or a checkpoint folder (as inspect reads)"),
        Opt.Required("--output", "dir", "output folder (created if needed)", "-o"),
        Opt.Value("--tract-version", "v", $"target tract version (default {TractVersion.Latest}); before 0.21.11 the legacy nibble order (item type 0x2040) is written"),
        Opt.Value("--compression", "key", $"calibration of a registry method (default {DefaultMethod}): {string.Join(", ", CompressionRegistry.Default.Keys)}", "-c", "--compression-method").Completing(Opt.CompressionMethods),
        Opt.Value("--percentile", "p", "min-max on the p-quantile of |x| per group, 0 < p <= 1 (min-max methods only)"),
        Opt.Flag("--report", "print a table of RMSE, max abs error and SQNR per tensor (and add them to the --json summary)"),
        Opt.Flag("--strict", "make any tensor that cannot be quantized an error (nothing is written) instead of keeping it in float"),
        HiddenFlag("--skip-ineligible", "keep tensors that cannot be quantized in float (the default; kept for scripts)"),
        Opt.Value("--threads", "n", "threads per tensor (default: all cores; results do not depend on it)"),
        Opt.Flag("--allow-non-finite", "keep Q4_0 blocks whose f16 scale is NaN or infinite (NaN inputs, values near 3e38); by default they are an error and nothing is written"),
        Opt.Flag("--overwrite", "replace existing .dat files (and index); anything else at those paths is refused"),
        Opt.Flag("--sync", """
            flush each file to the storage device before moving it into place (slower; without it files are still
            written to a temporary name and moved when complete)
            """));

    public int Execute(CommandArgs a, CommandContext context)
    {
        TextWriter stdout = context.Out;
        string input = a.Argument("input");
        string output = a.Get("--output")!;
        TractVersion target = a.Get("--tract-version") is string v
            ? (TractVersion.TryParse(v, out TractVersion parsed) ? parsed : throw new UsageException($"'{v}' is not a tract version (e.g. 0.22.0)"))
            : TractVersion.Latest;
        string method = a.Get("--compression") ?? DefaultMethod;
        Q40Calibration calibration = ChooseCalibration(method, a.Get("--percentile"));
        int threads = Environment.ProcessorCount;
        if (a.Get("--threads") is string t && (!int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out threads) || threads < 1))
        {
            throw new UsageException($"--threads must be a positive integer, got '{t}'");
        }

        if (a.Has("--strict") && a.Has("--skip-ineligible"))
        {
            throw new UsageException("--strict and --skip-ineligible contradict each other");
        }

        bool report = a.Has("--report");
        using var progress = context.Progress();
        QuantizeCheckpointResult result = ModelPipeline.QuantizeCheckpoint(input, output, new QuantizeCheckpointOptions
        {
            TractVersion = target,
            Calibration = calibration,
            SkipIneligible = !a.Has("--strict"),
            MeasureErrors = report,
            AllowNonFinite = a.Has("--allow-non-finite"),
            MaxDegreeOfParallelism = threads,
            Overwrite = a.Has("--overwrite"),
            Durable = a.Has("--sync"),
            Notice = context.Notice,
            Progress = progress?.For(ProgressThresholdBytes),
        }, context.Cancellation);
        progress?.Clear();

        CommandSummary summary = context.Summary;
        summary.Tensors = [];
        if (report)
        {
            stdout.WriteLine($"{"tensor",-48} {"dtype",-5} {"shape",-20} {"rmse",12} {"max_abs",12} {"sqnr_db",8}");
            foreach (QuantizedTensorFile f in result.Tensors)
            {
                Q40ErrorStats e = f.Errors!;
                stdout.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{TerminalText.Escape(f.Name),-48} {f.SourceDType.Name(),-5} {f.Shape.ToString(),-20} {e.Rmse,12:G6} {e.MaxAbsError,12:G6} {e.SqnrDb,8:F2}"));
                summary.Tensors.Add(new TensorSummary(f.Name, "quantized")
                {
                    DType = f.SourceDType.Name(),
                    Shape = f.Shape.ToString(),
                    File = f.FileName,
                    Rmse = e.Rmse,
                    MaxAbsError = e.MaxAbsError,
                    SqnrDb = e.SqnrDb,
                });
            }
        }

        foreach (SkippedTensor s in result.Skipped)
        {
            summary.Tensors.Add(new TensorSummary(s.Name, "kept-float") { Reason = s.Reason });
        }

        PrintKeptFloat(result, context);
        PrintRenamed(result, stdout);
        summary.Inputs.Add(input);
        summary.Outputs.Add(output);
        summary.Method = a.Get("--percentile") is string p ? $"{method} --percentile {p}" : method;
        summary.TractVersion = target.ToString();
        summary.Kernel = Q40Kernels.Active.ToString();
        summary.BytesBefore = result.SourceBytes;
        summary.BytesAfter = result.WrittenBytes;
        summary.Quantized = result.Tensors.Count;
        summary.KeptFloat = result.Skipped.Count;
        context.Detail($"Q4_0 kernel {Q40Kernels.Active}, {threads} thread(s)");
        string kept = result.Skipped.Count == 0 ? string.Empty : $", {result.Skipped.Count} kept in float";
        stdout.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"quantized {result.Tensors.Count} tensor(s){kept} with {summary.Method} for tract {target} ({Q40Kernels.Active}): {ByteCount.Format(result.SourceBytes)} -> {ByteCount.Format(result.WrittenBytes)} in {result.Elapsed.TotalSeconds:0.00} s; wrote {TerminalText.Escape(output)}"));
        return 0;
    }

    private static Option<bool> HiddenFlag(string name, string description)
    {
        Option<bool> flag = Opt.Flag(name, description);
        flag.Hidden = true;
        return flag;
    }

    // The tensors kept in float, as the reference tool leaves norms and biases: one line, the first few named.
    private static void PrintKeptFloat(QuantizeCheckpointResult result, CommandContext context)
    {
        if (result.Skipped.Count == 0)
        {
            return;
        }

        foreach (IGrouping<string, SkippedTensor> reason in result.Skipped.GroupBy(s => s.Reason.Split(',')[0]))
        {
            List<SkippedTensor> these = [.. reason];
            string names = string.Join(", ", these.Take(MaxRenamedShown).Select(s => $"'{s.Name}'")) + (these.Count > MaxRenamedShown ? $" and {these.Count - MaxRenamedShown} more" : string.Empty);
            context.Detail($"kept in float ({reason.Key}): {names}");
        }

        context.Out.WriteLine($"kept in float: {string.Join(", ", result.Skipped.Take(MaxRenamedShown).Select(s => TerminalText.Escape(s.Name)))}{(result.Skipped.Count > MaxRenamedShown ? $" and {result.Skipped.Count - MaxRenamedShown} more" : string.Empty)} (not eligible for Q4_0; --strict makes this an error)");
    }

    // Tensors whose file is not "<name>.dat": listed (the first few) and named in the index.
    private static void PrintRenamed(QuantizeCheckpointResult result, TextWriter stdout)
    {
        if (result.IndexFile is null)
        {
            return;
        }

        List<QuantizedTensorFile> renamed = [.. result.Tensors.Where(p => p.FileName != p.Name + ".dat")];
        stdout.WriteLine($"{renamed.Count} tensor name(s) are not usable as file names as they are; the index {result.IndexFile} maps every tensor to its file:");
        foreach (QuantizedTensorFile p in renamed.Take(MaxRenamedShown))
        {
            stdout.WriteLine($"  '{TerminalText.Escape(p.Name)}' -> {TerminalText.Escape(p.FileName)}");
        }

        if (renamed.Count > MaxRenamedShown)
        {
            stdout.WriteLine($"  ... and {renamed.Count - MaxRenamedShown} more");
        }
    }

    private static Q40Calibration ChooseCalibration(string key, string? percentile)
    {
        if (!CompressionRegistry.Default.TryGet(key, out CompressionMethod? method))
        {
            string hint = Suggestions.Closest(key, CompressionRegistry.Default.Keys) is string close ? $" (did you mean '{close}'?)" : string.Empty;
            throw new UsageException($"unknown compression method '{key}'{hint}; known: {string.Join(", ", CompressionRegistry.Default.Keys)}");
        }

        if (percentile is null)
        {
            return method.Calibration;
        }

        if (method.Calibration is not MinMaxCalibration)
        {
            throw new UsageException($"--percentile applies to min-max methods, not '{method.Key}'");
        }

        if (!double.TryParse(percentile, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) || !(p > 0 && p <= 1))
        {
            throw new UsageException($"--percentile must be in (0, 1], got '{percentile}'");
        }

        return new MinMaxCalibration(p);
    }
}
