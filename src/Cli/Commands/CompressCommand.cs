using System.Globalization;
using TorchToNnef.Export.Compression;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.IO;
using TorchToNnef.Ir;
using TorchToNnef.Quant.Registry;

namespace TorchToNnef.Cli.Commands;

/// <summary><c>t2n compress</c>: applies a registry compression method (Q4_0) to an existing NNEF model.</summary>
internal sealed class CompressCommand : ICommand
{
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

        using var transaction = new OutputTransaction(
            new OutputOptions { Overwrite = a.Has("--overwrite"), Notice = m => stderr.WriteLine($"t2n compress: {m}") },
            cancellation);
        transaction.AddInput(input);
        OutputTarget target = NnefArchive.DeclareOutput(transaction, output);
        Graph graph = NnefArchive.Read(input);
        TractVersion version = explicitTarget
            ?? (TractVersion.TryParse(graph.GetProperty("tract_target_version"), out TractVersion p) ? p : TractVersion.Latest);
        CompressionResult result = GraphCompressor.Compress(graph, method);
        if (explicitTarget is not null)
        {
            result.Graph.SetProperty("tract_target_version", version.ToString());
        }

        foreach (SkippedWeight s in result.Skipped)
        {
            stderr.WriteLine($"t2n compress: warning: '{TerminalText.Escape(s.Label)}' stays float: {TerminalText.Escape(s.Reason)}");
        }

        NnefArchive.Write(result.Graph, target, new NnefWriteOptions { TractVersion = version, CompressionLevel = level });
        transaction.Commit();

        long before = result.Quantized.Sum(q => q.FloatBytes);
        long after = result.Quantized.Sum(q => q.QuantizedBytes);
        stdout.WriteLine(
            $"{method.Key} for tract {version}: {result.Quantized.Count} weight(s) to Q4_0 ({Size(before)} -> {Size(after)}), "
            + $"{result.Skipped.Count} left float; wrote {TerminalText.Escape(output)}");
        return 0;
    }

    private static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.##} KiB",
        _ => $"{bytes} B",
    };
}
