using System.Globalization;
using TorchToNnef.Export.Compression;
using TorchToNnef.Export.Pipeline;
using TorchToNnef.IO;
using TorchToNnef.Quant.Registry;

namespace TorchToNnef.Cli.Commands;

/// <summary>
/// <c>t2n compress</c>: parses its options, runs <see cref="ModelPipeline.CompressArchive"/> (a registry compression
/// method applied to an existing NNEF model) and prints what it did.
/// </summary>
internal sealed class CompressCommand : ICommand
{
    private const long ProgressThresholdBytes = 64L << 20;

    public string Name => "compress";

    public string Summary => "Quantize the weights of an NNEF archive with a compression method (Q4_0)";

    public string Usage => $"""
        Usage: t2n compress -i <archive|dir> -o <archive|dir> -c <method> [options]

        Reads an NNEF model (a .nnef.tgz, a .tar or a directory), turns the float weights read by linear/matmul,
        conv or embedding gathers into Q4_0 as the method selects them, and writes a new archive (a name ending
        in .tgz or .tar gives that container, anything else a directory). Weights the method selects but cannot
        quantize stay float and are named in a warning.

          -i, --input <path>           NNEF archive or directory to read (never modified)
          -o, --output <path>          where to write the compressed model (never the input, inside it, or holding it)
          -c, --compression <method>   one of: {string.Join(", ", CompressionRegistry.Default.Keys)}
          --tract-version <v>          target tract version (default: the archive's tract_target_version, else {TractVersion.Latest})
          --compression-level <0-9>    gzip level for a .tgz output (default 0 = stored, as torch_to_nnef)
          --overwrite                  replace an existing output, if it is an NNEF archive or a folder holding
                                       nothing but an NNEF model (anything else is refused)
        """;

    public int Execute(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellation)
    {
        var a = new ArgList(
            args,
            ["--input|-i", "--output|-o", "--compression|-c", "--tract-version", "--compression-level"],
            ["--overwrite"]);
        if (a.Positionals.Count > 0)
        {
            throw new UsageException($"unexpected argument '{a.Positionals[0]}'");
        }

        string input = a.Get("--input") ?? throw new UsageException("missing -i <archive|dir>");
        string output = a.Get("--output") ?? throw new UsageException("missing -o <archive|dir>");
        string key = a.Get("--compression") ?? throw new UsageException("missing -c <method>");
        if (!CompressionRegistry.Default.TryGet(key, out CompressionMethod? method))
        {
            throw new UsageException($"unknown compression method '{key}'; known: {string.Join(", ", CompressionRegistry.Default.Keys)}");
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

        using var progress = ProgressLine.ForConsole(stderr);
        CompressArchiveResult result = ModelPipeline.CompressArchive(input, output, method, new CompressArchiveOptions
        {
            TractVersion = explicitTarget,
            CompressionLevel = level,
            Overwrite = a.Has("--overwrite"),
            Notice = m => stderr.WriteLine($"t2n compress: {m}"),
            Progress = progress?.For(ProgressThresholdBytes),
        }, cancellation);
        progress?.Clear();

        foreach (SkippedWeight s in result.Skipped)
        {
            stderr.WriteLine($"t2n compress: warning: '{TerminalText.Escape(s.Label)}' stays float: {TerminalText.Escape(s.Reason)}");
        }

        stdout.WriteLine(
            $"{method.Key} for tract {result.TractVersion}: {result.Quantized.Count} weight(s) to Q4_0 ({ByteCount.Format(result.FloatBytes)} -> {ByteCount.Format(result.QuantizedBytes)}), "
            + $"{result.Skipped.Count} left float; wrote {TerminalText.Escape(output)}");
        return 0;
    }
}
