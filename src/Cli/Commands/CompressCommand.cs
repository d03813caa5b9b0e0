using System.CommandLine;
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

    public Command Define() => Opt.Command(Name, Summary, """
        Reads an NNEF model (a .nnef.tgz, a .tar or
        a directory), turns the float weights read by linear/matmul, conv or embedding gathers into Q4_0 as the method
        selects them, and writes a new archive (a name ending in .tgz or .tar gives that container, anything else a
        directory). Weights the method selects but cannot quantize stay float and are named in a warning.
        """,
        Opt.Required("--input", "archive|dir", "NNEF archive or directory to read (never modified)", "-i"),
        Opt.Required("--output", "archive|dir", "where to write the compressed model (never the input, inside it, or holding it)", "-o"),
        Opt.Required("--compression", "method", $"compression method, one of: {string.Join(", ", CompressionRegistry.Default.Keys)}", "-c", "--compression-method"),
        Opt.Value("--tract-version", "v", $"target tract version (default: the archive's tract_target_version, else {TractVersion.Latest})"),
        Opt.Value("--compression-level", "0-9", "gzip level for a .tgz output (default 0 = stored, as torch_to_nnef)"),
        Opt.Flag("--overwrite", """
            replace an existing output, if it is an NNEF archive or a folder holding nothing but an NNEF model
            (anything else is refused)
            """));

    public int Execute(CommandArgs a, CommandContext context)
    {
        TextWriter stdout = context.Out;
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
            new OutputOptions { Overwrite = a.Has("--overwrite"), Notice = context.Notice },
            context.Cancellation);
        transaction.AddInput(input);
        OutputTarget target = NnefArchive.DeclareOutput(transaction, output);
        Graph graph = NnefArchive.Read(input);
        TractVersion version = explicitTarget
            ?? (TractVersion.TryParse(graph.GetProperty("tract_target_version"), out TractVersion p) ? p : TractVersion.Latest);
        CompressionResult result = GraphCompressor.Compress(graph, method, version);
        if (explicitTarget is not null)
        {
            result.Graph.SetProperty("tract_target_version", version.ToString());
        }

        foreach (SkippedWeight s in result.Skipped)
        {
            context.Warn($"'{s.Label}' stays float: {s.Reason}");
        }

        NnefArchive.Write(result.Graph, target, new NnefWriteOptions { TractVersion = version, CompressionLevel = level });
        transaction.Commit();

        long before = result.Quantized.Sum(q => q.FloatBytes);
        long after = result.Quantized.Sum(q => q.QuantizedBytes);
        CommandSummary summary = context.Summary;
        summary.Inputs.Add(input);
        summary.Outputs.Add(output);
        summary.Method = key;
        summary.TractVersion = version.ToString();
        summary.BytesBefore = PathSizes.Of(input);
        summary.BytesAfter = PathSizes.Of(output);
        summary.Quantized = result.Quantized.Count;
        summary.KeptFloat = result.Skipped.Count;
        summary.Tensors = [.. result.Skipped.Select(s => new TensorSummary(s.Label, "kept-float") { Reason = s.Reason })];
        string sizes = $"archive {PathSizes.Format(summary.BytesBefore.Value)} -> {PathSizes.Format(summary.BytesAfter.Value)}";
        stdout.WriteLine(result.Quantized.Count == 0
            ? $"0 weights quantized: no eligible weight for {key} ({result.Skipped.Count} left float); {sizes}; wrote {TerminalText.Escape(output)}"
            : $"{key} for tract {version}: {result.Quantized.Count} weight(s) to Q4_0 ({PathSizes.Format(before)} -> {PathSizes.Format(after)}), "
                + $"{result.Skipped.Count} left float; {sizes}; wrote {TerminalText.Escape(output)}");
        return 0;
    }
}
