using System.Diagnostics;
using System.Globalization;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.IO;
using TorchToNnef.Quant;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;

namespace TorchToNnef.Cli.Commands;

/// <summary>
/// <c>t2n quantize</c>: every tensor of a safetensors file to a tract Q4_0 <c>.dat</c>, one file per tensor however
/// the names look (<see cref="FlatFileNames"/>, with a <see cref="TensorFileIndex"/> when a file is not simply the
/// name). Everything that can be checked from the header (eligibility, names, every output against the output
/// policy) is checked before the first file is written; all files are written under temporary names and moved into
/// place together at the end, so a failed or interrupted run leaves the output folder as it was, even with
/// <c>--overwrite</c>.
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

        bool sync = a.Has("--sync");
        using var transaction = new OutputTransaction(
            new OutputOptions { Overwrite = a.Has("--overwrite"), Notice = m => stderr.WriteLine($"t2n quantize: {m}") },
            cancellation);
        transaction.AddInput(input);
        using SafetensorsFile file = SafetensorsFile.Open(input);
        Plan plan = MakePlan(file, output, a.Has("--skip-ineligible"), transaction, stderr);

        bool legacyOrder = !target.UsesGgmlQ40Order;
        bool report = a.Has("--report");
        long totalBytes = plan.Tensors.Sum(p => p.Entry.ByteLength);
        using var progress = ProgressLine.ForConsole(stderr, totalBytes >= ProgressThresholdBytes);
        if (report)
        {
            stdout.WriteLine($"{"tensor",-48} {"dtype",-5} {"shape",-20} {"rmse",12} {"max_abs",12} {"sqnr_db",8}");
        }

        long done = 0;
        long written = 0;
        var clock = Stopwatch.StartNew();
        foreach (Planned p in plan.Tensors)
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
            using (FileStream stream = p.Target.CreateFile())
            {
                DatFile.Write(stream, new Q40TensorSource(file.GetSource(p.Entry.Name), p.Entry.Name, calibration, options), DatHeader.For(DType.Q40, tensor.Shape, legacyQ40Order: legacyOrder));
                stream.Flush(flushToDisk: sync);
            }

            done += p.Entry.ByteLength;
            written += DatHeader.Size + DType.Q40.ByteSize(tensor.ElementCount);
            if (errors is not null)
            {
                stdout.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{TerminalText.Escape(p.Entry.Name),-48} {tensor.DType.Name(),-5} {tensor.Shape.ToString(),-20} {errors.Rmse,12:G6} {errors.MaxAbsError,12:G6} {errors.SqnrDb,8:F2}"));
            }
        }

        if (plan.Index is not null)
        {
            using FileStream stream = plan.Index.CreateFile();
            TensorFileIndex.Write(stream, Path.GetFileName(input), plan.Tensors.Select(p => KeyValuePair.Create(p.Entry.Name, p.FileName)));
            stream.Flush(flushToDisk: sync);
        }

        transaction.Commit();
        progress?.Clear();
        PrintRenamed(plan, stdout);
        stdout.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"quantized {plan.Tensors.Count} tensor(s) with {calibration.Name} for tract {target} ({Q40Kernels.Active}): {Size(done)} -> {Size(written)} in {clock.Elapsed.TotalSeconds:0.00} s; wrote {TerminalText.Escape(output)}"));
        return 0;
    }

    // Tensors whose file is not "<name>.dat": listed (the first few) and named in the index.
    private static void PrintRenamed(Plan plan, TextWriter stdout)
    {
        if (plan.Index is null)
        {
            return;
        }

        List<Planned> renamed = plan.Tensors.Where(p => p.FileName != p.Entry.Name + ".dat").ToList();
        stdout.WriteLine($"{renamed.Count} tensor name(s) are not usable as file names as they are; the index {TensorFileIndex.FileName} maps every tensor to its file:");
        foreach (Planned p in renamed.Take(MaxRenamedShown))
        {
            stdout.WriteLine($"  '{TerminalText.Escape(p.Entry.Name)}' -> {TerminalText.Escape(p.FileName)}");
        }

        if (renamed.Count > MaxRenamedShown)
        {
            stdout.WriteLine($"  ... and {renamed.Count - MaxRenamedShown} more");
        }
    }

    // Everything that can fail before writing: eligibility, file names, and every output against the output policy
    // (existing files, overwrite, the input itself, names that would share a file).
    private static Plan MakePlan(SafetensorsFile file, string output, bool skipIneligible, OutputTransaction transaction, TextWriter stderr)
    {
        var names = new FlatFileNames(".dat");
        var eligible = new List<(SafetensorsEntry Entry, string FileName)>();
        var refused = new List<(string Name, string Reason)>();
        foreach (SafetensorsEntry e in file.Entries)
        {
            if (!Q40Format.IsEligible(e.DType, e.Shape, out string? reason))
            {
                refused.Add((e.Name, reason!));
                continue;
            }

            eligible.Add((e, names.Get(e.Name)));
        }

        if (refused.Count > 0 && !skipIneligible)
        {
            string others = refused.Count > 1 ? $" (and {refused.Count - 1} more: {string.Join(", ", refused.Skip(1).Select(r => r.Name))})" : string.Empty;
            throw new ImpossibleQuantizationException(refused[0].Name, $"{refused[0].Reason}{others}; nothing was written (use --skip-ineligible to skip such tensors)");
        }

        var plan = new Plan();
        foreach ((SafetensorsEntry entry, string fileName) in eligible)
        {
            plan.Tensors.Add(new Planned(entry, fileName, transaction.AddOutput(Path.Combine(output, fileName), NnefOutputKinds.TensorFile)));
        }

        if (eligible.Any(e => !names.IsVerbatim(e.Entry.Name)))
        {
            plan.Index = transaction.AddOutput(Path.Combine(output, TensorFileIndex.FileName), TensorFileIndex.OutputKind);
        }

        foreach ((string name, string reason) in refused)
        {
            stderr.WriteLine($"t2n quantize: warning: skipping tensor '{TerminalText.Escape(name)}': {TerminalText.Escape(reason)}");
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

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.##} KiB",
        _ => $"{bytes} B",
    };

    private sealed record Planned(SafetensorsEntry Entry, string FileName, OutputTarget Target);

    private sealed class Plan
    {
        public List<Planned> Tensors { get; } = [];

        public OutputTarget? Index { get; set; }
    }

    /// <summary>Synchronous progress callback (System.Progress posts to the thread pool and may report late).</summary>
    private sealed class Progress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
