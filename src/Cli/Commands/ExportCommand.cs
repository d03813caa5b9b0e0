using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TorchToNnef.Export.Compression;
using TorchToNnef.Export.Onnx;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.IO;
using TorchToNnef.Ir;
using TorchToNnef.Quant.Registry;

namespace TorchToNnef.Cli.Commands;

/// <summary><c>t2n export</c>: converts an ONNX model into an NNEF archive for tract, optionally with Q4_0 weights.</summary>
internal sealed class ExportCommand : ICommand
{
    public string Name => "export";

    public string Summary => "Convert an ONNX model into an NNEF archive for tract (optionally Q4_0)";

    public Command Define() => Opt.Command(Name, Summary, """
        Translates the ONNX model (opsets 9 to 21) into NNEF with tract's extensions. Shape logic is folded at export
        time; named or unknown input dimensions become symbols unless --input-shape fixes them. Nothing is written
        when the model uses operators that are not translated: they are all listed with the nodes that use them.
        Input and output names that are not NNEF identifiers are made into identifiers; the ONNX names are recorded
        in the archive, so `t2n verify` accepts bundles keyed by either. With --check-io, an archive that does not
        compute what the translated graph does is not written (exit code 1).
        """,
        Opt.Required("--input", "model.onnx", "the .onnx file (external data next to it is memory-mapped)", "-i"),
        Opt.Required("--output", "out.nnef.tgz|dir", "a .nnef.tgz / .tgz / .tar archive, or a directory", "-o"),
        Opt.Value("--compression", "method", $"compress eligible weights to Q4_0: one of {string.Join(", ", CompressionRegistry.Default.Keys)}", "-c").Completing(Opt.CompressionMethods),
        Opt.Value("--tract-version", "v", $"target tract version (default {TractVersion.Latest})"),
        Opt.Repeated("--input-shape", "name=d,...", "concrete shape for an input (repeatable), e.g. x=1,3,224,224"),
        Opt.Repeated("--input-value", "name=v,...", """
            freeze an input to this value (repeatable), e.g. sr=16000; shape logic and If branches that depend on it
            fold away, and the archive records it
            """),
        Opt.Flag("--check-io", "run the translated graph and the written archive on random inputs and compare them (needs concrete input shapes)"),
        Opt.Value("--tolerance", "level", "for --check-io: exact | close | approximate (default) | very | super | ultra", "-t").Completing(Opt.ToleranceLevels),
        Opt.Value("--compression-level", "0-9", "gzip level for a .tgz output (default 0 = stored)"),
        Opt.Flag("--allow-non-finite", "keep Q4_0 blocks whose f16 scale is NaN or infinite (NaN weights, values near 3e38); by default they are an error and nothing is written"),
        Opt.Flag("--overwrite", "replace an existing output if it is an NNEF archive or a folder holding nothing but an NNEF model"));

    public int Execute(CommandArgs a, CommandContext context)
    {
        TextWriter stdout = context.Out;
        CancellationToken cancellation = context.Cancellation;
        string input = a.Get("--input")!;
        string output = a.Get("--output")!;
        CompressionMethod? method = null;
        string? key = a.Get("--compression");
        if (key is not null && !CompressionRegistry.Default.TryGet(key, out method))
        {
            string hint = Suggestions.Closest(key, CompressionRegistry.Default.Keys) is string close ? $" (did you mean '{close}'?)" : string.Empty;
            throw new UsageException($"unknown compression method '{key}'{hint}; known: {string.Join(", ", CompressionRegistry.Default.Keys)}");
        }

        TractVersion version = a.Get("--tract-version") is string v
            ? (TractVersion.TryParse(v, out TractVersion parsed) ? parsed : throw new UsageException($"'{v}' is not a tract version (e.g. 0.22.0)"))
            : TractVersion.Latest;
        Approximation level = Approximation.Approximate;
        if (a.Get("--tolerance") is string t)
        {
            if (!a.Has("--check-io"))
            {
                throw new UsageException("--tolerance applies to --check-io");
            }

            if (!Tolerance.TryParseLevel(t, out level))
            {
                throw new UsageException($"unknown tolerance '{t}' (expected exact, close, approximate, very, super or ultra)");
            }
        }

        int gzipLevel = 0;
        if (a.Get("--compression-level") is string l
            && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out gzipLevel) || gzipLevel > 9))
        {
            throw new UsageException($"--compression-level must be 0 to 9, got '{l}'");
        }

        var options = new OnnxExportOptions
        {
            InputShapes = ParseNamedLists(a.GetAll("--input-shape"), "--input-shape", s => long.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture)),
            InputValues = ParseNamedLists(a.GetAll("--input-value"), "--input-value", s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture)),
            TractVersion = version,
        };

        using var transaction = new OutputTransaction(
            new OutputOptions { Overwrite = a.Has("--overwrite"), Notice = context.Notice },
            cancellation);
        transaction.AddInput(input);
        OutputTarget target = NnefArchive.DeclareOutput(transaction, output);

        var clock = Stopwatch.StartNew();
        using OnnxModel model = OnnxModel.Load(input);
        OnnxExportResult result = OnnxExporter.Translate(model, options);
        Graph graph = result.Graph;
        CompressionResult? compressed = null;
        if (method is not null)
        {
            compressed = GraphCompressor.Compress(graph, method, new Quant.Q40QuantizeOptions { AllowNonFinite = a.Has("--allow-non-finite") });
            graph = compressed.Graph;
            foreach (SkippedWeight s in compressed.Skipped)
            {
                context.Warn($"'{s.Label}' stays float: {s.Reason}");
            }
        }

        cancellation.ThrowIfCancellationRequested();
        NnefArchive.Write(graph, target, new NnefWriteOptions { TractVersion = version, CompressionLevel = gzipLevel });
        clock.Stop();

        CommandSummary summary = context.Summary;
        summary.Inputs.Add(input);
        summary.BytesBefore = PathSizes.Of(input);
        summary.Method = key;
        summary.TractVersion = version.ToString();
        summary.Quantized = compressed?.Quantized.Count;
        summary.KeptFloat = compressed?.Skipped.Count;
        summary.Tensors = compressed is null ? null : [.. compressed.Skipped.Select(s => new TensorSummary(s.Label, "kept-float") { Reason = s.Reason })];
        if (a.Has("--check-io"))
        {
            Graph reread = ReadStaged(target);
            IReadOnlyList<OutputComparison> comparisons = ArchiveCheck.Run(graph, reread, level, options: new() { Cancellation = cancellation });
            foreach (OutputComparison o in comparisons)
            {
                stdout.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"check-io {(o.Passed ? "ok" : "FAIL")} {TerminalText.Escape(o.Name)}: max abs error {o.MaxAbsError:G4}, outliers {o.Outliers}/{o.Count}"));
            }

            summary.Checks = [.. comparisons.Select(o => new OutputCheckSummary(o.Name, o.Passed, o.MaxAbsError, o.MaxRelError, o.Outliers, o.Count, o.Detail))];
            if (comparisons.Any(o => !o.Passed))
            {
                context.Fail("the archive read back from disk does not compute what the translated graph does; nothing was written");
                return ExitCodes.CheckFailed;
            }
        }

        transaction.Commit();
        summary.Outputs.Add(output);
        summary.BytesAfter = PathSizes.Of(output);
        foreach (string note in result.Notes)
        {
            stdout.WriteLine($"note: {TerminalText.Escape(note)}");
        }

        foreach (IoName n in result.Io.Inputs.Concat(result.Io.Outputs).Where(n => n.Nnef != n.Onnx))
        {
            stdout.WriteLine($"renamed: '{TerminalText.Escape(n.Onnx)}' -> {n.Nnef}");
        }

        string compression = compressed is null
            ? "f32 weights"
            : $"{method!.Key}: {compressed.Quantized.Count} weight(s) to Q4_0, {compressed.Skipped.Count} left float";
        stdout.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"exported {result.Operators.Values.Sum()} ONNX node(s) ({result.Operators.Count} operator type(s)) for tract {version}, {compression}, in {clock.Elapsed.TotalMilliseconds:F0} ms; wrote {TerminalText.Escape(output)}"));
        return ExitCodes.Success;
    }

    // The archive as written, before it is moved into place.
    private static Graph ReadStaged(OutputTarget target)
    {
        string staged = target.TemporaryPath ?? target.FullPath;
        if (Directory.Exists(staged))
        {
            return NnefArchive.Read(staged);
        }

        using FileStream stream = File.OpenRead(staged);
        return NnefArchive.Read(stream, target.Path);
    }

    private static Dictionary<string, IReadOnlyList<T>> ParseNamedLists<T>(IReadOnlyList<string> specs, string option, Func<string, T> parse)
    {
        var result = new Dictionary<string, IReadOnlyList<T>>(StringComparer.Ordinal);
        foreach (string spec in specs)
        {
            int eq = spec.LastIndexOf('=');
            if (eq <= 0 || eq == spec.Length - 1)
            {
                throw new UsageException($"{option} expects <name>=<v,...>, got '{spec}'");
            }

            string name = spec[..eq];
            try
            {
                T[] values = [.. spec[(eq + 1)..].Split(',').Select(s => parse(s.Trim()))];
                if (!result.TryAdd(name, values))
                {
                    throw new UsageException($"{option} gives '{name}' twice");
                }
            }
            catch (FormatException)
            {
                throw new UsageException($"{option} '{spec}': '{spec[(eq + 1)..]}' is not a list of numbers");
            }
            catch (OverflowException)
            {
                throw new UsageException($"{option} '{spec}': a value is out of range");
            }
        }

        return result;
    }
}
