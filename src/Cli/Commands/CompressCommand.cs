using System.CommandLine;
using System.Globalization;
using TorchToNnef.Export.Compression;
using TorchToNnef.Export.Pipeline;
using TorchToNnef.IO;
using TorchToNnef.Quant.Registry;

namespace TorchToNnef.Cli.Commands;

/// <summary>
/// <c>t2n compress</c>: parses its options, runs <see cref="ModelPipeline.CompressArchive"/> (a registry compression
/// method applied to an existing NNEF model) and prints what it did, with the archive size before and after.
/// </summary>
internal sealed class CompressCommand : ICommand
{
    private const long ProgressThresholdBytes = 64L << 20;

    public string Name => "compress";

    public string Summary => "Quantize the weights of an NNEF archive with a compression method (Q4_0)";

    public Command Define() => Opt.Command(Name, Summary, """
        Reads an NNEF model (a .nnef.tgz, a .tar or a directory), turns the float weights read by linear/matmul, conv or
        embedding gathers into Q4_0 as the method selects them, and writes a new archive (a name ending in .tgz or .tar
        gives that container, anything else a directory). Weights the method selects but cannot quantize stay float and
        are named in a warning; a run that quantizes nothing says so.
        """,
        Opt.Required("--input", "archive|dir", "NNEF archive or directory to read (never modified)", "-i"),
        Opt.Required("--output", "archive|dir", "where to write the compressed model (never the input, inside it, or holding it)", "-o"),
        Opt.Required("--compression", "method", $"compression method, one of: {string.Join(", ", CompressionRegistry.Default.Keys)}", "-c", "--compression-method").Completing(Opt.CompressionMethods),
        Opt.Value("--tract-version", "v", $"target tract version (default: the archive's tract_target_version, else {TractVersion.Latest})"),
        Opt.Value("--compression-level", "0-9", "gzip level for a .tgz output (default 0 = stored, as torch_to_nnef)"),
        Opt.Flag("--allow-non-finite", "keep Q4_0 blocks whose f16 scale is NaN or infinite (NaN weights, values near 3e38); by default they are an error and nothing is written"),
        Opt.Flag("--overwrite", """
            replace an existing output, if it is an NNEF archive or a folder holding nothing but an NNEF model
            (anything else is refused)
            """));

    public int Execute(CommandArgs a, CommandContext context)
    {
        TextWriter stdout = context.Out;
        string input = a.Get("--input")!;
        string output = a.Get("--output")!;
        string key = a.Get("--compression")!;
        if (!CompressionRegistry.Default.TryGet(key, out CompressionMethod? method))
        {
            string hint = Suggestions.Closest(key, CompressionRegistry.Default.Keys) is string close ? $" (did you mean '{close}'?)" : string.Empty;
            throw new UsageException($"unknown compression method '{key}'{hint}; known: {string.Join(", ", CompressionRegistry.Default.Keys)}");
        }

        TractVersion? explicitTarget = a.Get("--tract-version") is string v
            ? (TractVersion.TryParse(v, out TractVersion parsed) ? parsed : throw new UsageException($"'{v}' is not a tract version (e.g. 0.22.0)"))
            : null;
        int level = 0;
        if (a.Get("--compression-level") is string l
            && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out level) || level > 9))
        {
            throw new UsageException($"--compression-level must be 0 to 9, got '{l}'");
        }

        using var progress = context.Progress();
        CompressArchiveResult result = ModelPipeline.CompressArchive(input, output, method, new CompressArchiveOptions
        {
            TractVersion = explicitTarget,
            CompressionLevel = level,
            AllowNonFinite = a.Has("--allow-non-finite"),
            Overwrite = a.Has("--overwrite"),
            Notice = context.Notice,
            Progress = progress?.For(ProgressThresholdBytes),
        }, context.Cancellation);
        progress?.Clear();

        foreach (SkippedWeight s in result.Skipped)
        {
            context.Warn($"'{s.Label}' stays float: {s.Reason}");
        }

        CommandSummary summary = context.Summary;
        summary.Inputs.Add(input);
        summary.Outputs.Add(output);
        summary.Method = key;
        summary.TractVersion = result.TractVersion.ToString();
        summary.BytesBefore = PathSizes.Of(input);
        summary.BytesAfter = PathSizes.Of(output);
        summary.Quantized = result.Quantized.Count;
        summary.KeptFloat = result.Skipped.Count;
        summary.Tensors = [.. result.Skipped.Select(s => new TensorSummary(s.Label, "kept-float") { Reason = s.Reason })];
        string sizes = $"archive {ByteCount.Format(summary.BytesBefore.Value)} -> {ByteCount.Format(summary.BytesAfter.Value)}";
        stdout.WriteLine(result.Quantized.Count == 0
            ? $"0 weights quantized: no eligible weight for {key} ({result.Skipped.Count} left float); {sizes}; wrote {TerminalText.Escape(output)}"
            : $"{key} for tract {result.TractVersion}: {result.Quantized.Count} weight(s) to Q4_0 ({ByteCount.Format(result.FloatBytes)} -> {ByteCount.Format(result.QuantizedBytes)}), "
                + $"{result.Skipped.Count} left float; {sizes}; wrote {TerminalText.Escape(output)}");
        return 0;
    }
}
