using System.Diagnostics;
using System.Globalization;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Nnef.Archive;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.IO;
using TorchToNnef.Quant;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;

namespace TorchToNnef.Cli.Commands;

/// <summary>
/// <c>t2n quantize</c>: every tensor of a safetensors file to a tract Q4_0 <c>.dat</c>. Everything that can be
/// checked from the header (eligibility, existing outputs, names) is checked before the first file is written; each
/// file is written to a temporary name and moved into place when complete; if a later tensor fails, the files this
/// run created are deleted again, so a failed run leaves the output folder as it was (except files it was allowed to
/// replace with <c>--overwrite</c>).
/// </summary>
internal sealed class QuantizeCommand : ICommand
{
    private const long ProgressThresholdBytes = 64L << 20;

    public string Name => "quantize";

    public string Summary => "Quantize every tensor of a safetensors file to tract Q4_0 .dat files";

    public string Usage => $"""
        Usage: t2n quantize <in.safetensors> -o <dir> [options]

        Writes <dir>/<tensor name>.dat (the name made safe as a file name) for every tensor of the file, as tract
        Q4_0 with an f16 scale per group of 32 values. Tensors must be f32, f16 or bf16, of rank 2 to 4, with rows
        (the dimensions after the first) a multiple of 32 values; any other tensor is an error, and nothing is written.

          -o, --output <dir>        output folder (created if needed)
          --tract-version <v>       target tract version (default {TractVersion.Latest}); before 0.21.11 the legacy
                                    nibble order (item type 0x2040) is written
          -c, --compression <key>   calibration of a registry method (default min_max_q4_0): {string.Join(", ", CompressionRegistry.Default.Keys)}
          --percentile <p>          min-max on the p-quantile of |x| per group, 0 < p <= 1 (min-max methods only)
          --report                  print a table of RMSE, max abs error and SQNR per tensor
          --skip-ineligible         skip (with a warning) tensors that cannot be quantized instead of failing
          --threads <n>             threads per tensor (default: all cores; results do not depend on it)
          --overwrite               replace existing .dat files
          --sync                    flush each file to the storage device before moving it into place (slower;
                                    without it files are still written to a temporary name and moved when complete)
        """;

    public int Execute(string[] args, TextWriter stdout, TextWriter stderr)
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

        using SafetensorsFile file = SafetensorsFile.Open(input);
        List<Planned> plan = Plan(file, output, a.Has("--skip-ineligible"), a.Has("--overwrite"), stderr);
        Directory.CreateDirectory(output);

        DType layout = Q40Format.DTypeFor(target);
        bool report = a.Has("--report");
        long totalBytes = plan.Sum(p => p.Entry.ByteLength);
        using var progress = ProgressLine.ForConsole(stderr, totalBytes >= ProgressThresholdBytes);
        if (report)
        {
            stdout.WriteLine($"{"tensor",-48} {"dtype",-5} {"shape",-20} {"rmse",12} {"max_abs",12} {"sqnr_db",8}");
        }

        var created = new List<string>();
        long done = 0;
        long written = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            foreach (Planned p in plan)
            {
                using Tensor tensor = file.GetTensor(p.Entry);
                var errors = report ? new Q40ErrorStats() : null;
                long before = done;
                var options = new Q40QuantizeOptions
                {
                    MaxDegreeOfParallelism = threads,
                    Errors = errors,
                    Progress = progress is null ? null : new Progress(v => progress.Show(before + (v * tensor.DType.ElementSize()), totalBytes, p.Entry.Name)),
                };
                bool existed = File.Exists(p.Path);
                AtomicFile.Write(p.Path, stream => WriteDat(stream, tensor, layout, p.Entry.Name, calibration, options), durable: a.Has("--sync"));
                if (!existed)
                {
                    created.Add(p.Path);
                }

                done += p.Entry.ByteLength;
                written += DatHeader.Size + layout.ByteSize(tensor.ElementCount);
                if (errors is not null)
                {
                    stdout.WriteLine(string.Create(
                        CultureInfo.InvariantCulture,
                        $"{p.Entry.Name,-48} {tensor.DType.Name(),-5} {tensor.Shape.ToString(),-20} {errors.Rmse,12:G6} {errors.MaxAbsError,12:G6} {errors.SqnrDb,8:F2}"));
                }
            }
        }
        catch
        {
            foreach (string path in created)
            {
                TryDelete(path);
            }

            throw;
        }

        progress?.Clear();
        stdout.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"quantized {plan.Count} tensor(s) with {calibration.Name} for tract {target} ({Q40Kernels.Active}): {Size(done)} -> {Size(written)} in {clock.Elapsed.TotalSeconds:0.00} s; wrote {output}"));
        return 0;
    }

    private static void WriteDat(Stream stream, Tensor tensor, DType layout, string name, Q40Calibration calibration, Q40QuantizeOptions options)
    {
        Span<byte> header = stackalloc byte[DatHeader.Size];
        DatHeader.For(layout, tensor.Shape).WriteTo(header);
        stream.Write(header);
        Q40Quantizer.WriteBlocks(tensor, stream, layout, name, calibration, options);
    }

    // Everything that can fail before writing: eligibility, output names, existing files, the input itself.
    private static List<Planned> Plan(SafetensorsFile file, string output, bool skipIneligible, bool overwrite, TextWriter stderr)
    {
        var names = new LabelPaths();
        var plan = new List<Planned>();
        var refused = new List<(string Name, string Reason)>();
        string inputPath = Path.GetFullPath(file.Path);
        foreach (SafetensorsEntry e in file.Entries)
        {
            if (!Q40Format.IsEligible(e.DType, e.Shape, out string? reason))
            {
                refused.Add((e.Name, reason!));
                continue;
            }

            // One flat file per tensor: a '/' in a name is not allowed to create folders.
            string path = Path.GetFullPath(Path.Combine(output, names.Get(e.Name.Replace('/', '_')) + ".dat"));
            if (path == inputPath)
            {
                throw new UsageException($"tensor '{e.Name}' would be written over the input file {file.Path}");
            }

            if (!overwrite && File.Exists(path))
            {
                throw new UsageException($"{path} exists (tensor '{e.Name}'); use --overwrite to replace it");
            }

            plan.Add(new Planned(e, path));
        }

        if (refused.Count > 0 && !skipIneligible)
        {
            string others = refused.Count > 1 ? $" (and {refused.Count - 1} more: {string.Join(", ", refused.Skip(1).Select(r => r.Name))})" : string.Empty;
            throw new ImpossibleQuantizationException(refused[0].Name, $"{refused[0].Reason}{others}; nothing was written (use --skip-ineligible to skip such tensors)");
        }

        foreach ((string name, string reason) in refused)
        {
            stderr.WriteLine($"t2n quantize: warning: skipping tensor '{name}': {reason}");
        }

        return plan;
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

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // The original error is what the user needs to see.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.##} KiB",
        _ => $"{bytes} B",
    };

    private sealed record Planned(SafetensorsEntry Entry, string Path);

    /// <summary>Synchronous progress callback (System.Progress posts to the thread pool and may report late).</summary>
    private sealed class Progress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
