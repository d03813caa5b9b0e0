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
/// <c>t2n quantize</c>: parses its options, runs <see cref="ModelPipeline.QuantizeCheckpoint"/> (every tensor of a
/// safetensors file to a tract Q4_0 <c>.dat</c>, checked before anything is written, committed together) and prints
/// what it did.
/// </summary>
internal sealed class QuantizeCommand : ICommand
{
    private const long ProgressThresholdBytes = 64L << 20;
    private const int MaxRenamedShown = 20;

    public string Name => "quantize";

    public string Summary => "Quantize every tensor of a safetensors file to tract Q4_0 .dat files";

    public string Usage => $"""
        Usage: t2n quantize <in.safetensors> -o <dir> [options]

        Writes <dir>/<tensor name>.dat for every tensor of the file, as tract Q4_0 with an f16 scale per group of 32
        values. Tensors must be f32, f16 or bf16, of rank 2 to 4, with rows (the dimensions after the first) a
        multiple of 32 values; any other tensor is an error, and nothing is written. A name that is not usable as a
        file name as it is ('/', control characters, a clash ignoring case, over 200 bytes) gets a safe, unique file
        name, and <dir>/{TensorFileIndex.FileName} maps every tensor name to its file.

          -o, --output <dir>        output folder (created if needed)
          --tract-version <v>       target tract version (default {TractVersion.Latest}); before 0.21.11 the legacy
                                    nibble order (item type 0x2040) is written
          -c, --compression <key>   calibration of a registry method (default min_max_q4_0): {string.Join(", ", CompressionRegistry.Default.Keys)}
          --percentile <p>          min-max on the p-quantile of |x| per group, 0 < p <= 1 (min-max methods only)
          --report                  print a table of RMSE, max abs error and SQNR per tensor
          --skip-ineligible         skip (with a warning) tensors that cannot be quantized instead of failing
          --threads <n>             threads per tensor (default: all cores; results do not depend on it)
          --overwrite               replace existing .dat files (and index); anything else at those paths is refused
          --sync                    flush each file to the storage device before moving it into place (slower;
                                    without it files are still written to a temporary name and moved when complete)
        """;

    public int Execute(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellation)
    {
        var a = new ArgList(
            args,
            ["--output|-o", "--tract-version", "--compression|-c", "--percentile", "--threads"],
            ["--report", "--skip-ineligible", "--overwrite", "--sync"]);
        string input = a.SinglePositional("input .safetensors file");
        string output = a.Get("--output") ?? throw new UsageException("missing -o <dir>");
        TractVersion target = a.Get("--tract-version") is string v
            ? (TractVersion.TryParse(v, out TractVersion parsed) ? parsed : throw new UsageException($"'{v}' is not a tract version (e.g. 0.22.0)"))
            : TractVersion.Latest;
        Q40Calibration calibration = ChooseCalibration(a.Get("--compression"), a.Get("--percentile"));
        int threads = Environment.ProcessorCount;
        if (a.Get("--threads") is string t && (!int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out threads) || threads < 1))
        {
            throw new UsageException($"--threads must be a positive integer, got '{t}'");
        }

        bool report = a.Has("--report");
        using var progress = ProgressLine.ForConsole(stderr);
        QuantizeCheckpointResult result = ModelPipeline.QuantizeCheckpoint(input, output, new QuantizeCheckpointOptions
        {
            TractVersion = target,
            Calibration = calibration,
            SkipIneligible = a.Has("--skip-ineligible"),
            MeasureErrors = report,
            MaxDegreeOfParallelism = threads,
            Overwrite = a.Has("--overwrite"),
            Durable = a.Has("--sync"),
            Notice = m => stderr.WriteLine($"t2n quantize: {m}"),
            Progress = progress?.For(ProgressThresholdBytes),
        }, cancellation);
        progress?.Clear();

        foreach (SkippedTensor s in result.Skipped)
        {
            stderr.WriteLine($"t2n quantize: warning: skipping tensor '{TerminalText.Escape(s.Name)}': {TerminalText.Escape(s.Reason)}");
        }

        if (report)
        {
            stdout.WriteLine($"{"tensor",-48} {"dtype",-5} {"shape",-20} {"rmse",12} {"max_abs",12} {"sqnr_db",8}");
            foreach (QuantizedTensorFile f in result.Tensors)
            {
                Q40ErrorStats e = f.Errors!;
                stdout.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{TerminalText.Escape(f.Name),-48} {f.SourceDType.Name(),-5} {f.Shape.ToString(),-20} {e.Rmse,12:G6} {e.MaxAbsError,12:G6} {e.SqnrDb,8:F2}"));
            }
        }

        PrintRenamed(result, stdout);
        stdout.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"quantized {result.Tensors.Count} tensor(s) with {calibration.Name} for tract {target} ({Q40Kernels.Active}): {ByteCount.Format(result.SourceBytes)} -> {ByteCount.Format(result.WrittenBytes)} in {result.Elapsed.TotalSeconds:0.00} s; wrote {TerminalText.Escape(output)}"));
        return 0;
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

    private static Q40Calibration ChooseCalibration(string? key, string? percentile)
    {
        CompressionMethod method = CompressionRegistry.Default.TryGet(key ?? "min_max_q4_0", out CompressionMethod? m)
            ? m
            : throw new UsageException($"unknown compression method '{key}'; known: {string.Join(", ", CompressionRegistry.Default.Keys)}");
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
