using System.Globalization;
using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Onnx;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Numpy;
using TorchToNnef.IO;
using TorchToNnef.Ir;

namespace TorchToNnef.Cli.Commands;

/// <summary>
/// <c>t2n verify</c>: runs an NNEF export with the managed evaluator (what tract would compute) and checks its outputs
/// against a reference bundle as tract's <c>--assert-output-bundle --approx</c> does, or writes the outputs.
/// </summary>
internal sealed class VerifyCommand : ICommand
{
    public string Name => "verify";

    public string Summary => "Run an NNEF export as tract would and check its outputs against a reference";

    public string Usage => """
        Usage: t2n verify <archive|dir> --io <bundle.npz> [--tolerance <level>]
               t2n verify <archive|dir> --input <name>=<file.npy> ... --output <name>=<file.npy> ... [--tolerance <level>]
               t2n verify <archive|dir> --inputs <inputs.npz> [--input <name>=<file.npy> ...] --out <outputs.npz> [--overwrite]

        <archive|dir>        a .nnef.tgz / .nnef.tar archive or an extracted NNEF directory
        --io <npz>           inputs and expected outputs by name (torch_to_nnef's io.npz / tests/*_io.npz layout)
        --input n=f.npy      one input array (repeatable); --output n=f.npy one expected output (repeatable)
        --inputs <npz>       inputs by name, for a plain run (other arrays in it are ignored)
        --out <npz>          write the computed outputs (no check); written atomically, never over an input
        --overwrite          replace an existing --out file if it is an npz of arrays (anything else is refused)
        --tolerance <level>  exact | close | approximate (default) | very | super | ultra, as tract's --approx
        --scenario <name>    also check the tract_assert lines of this scenario (e.g. tg, pp)
        --threads <n>        worker threads for matrix products (default: all cores)

        Inputs are matched by name; f32 arrays feed f16 inputs (cast as tract's --allow-float-casts). Each output
        prints its max absolute and relative error and outlier count; the exit code is 0 only when all pass.
        For export folders with separate .npy files (io.json), pass each as --input / --output.
        Archives made by `t2n export` from ONNX also take arrays keyed by the ONNX input/output names (and --out then
        writes ONNX names); an input frozen at export may be given only with its frozen value.
        """;

    public int Execute(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellation)
    {
        var parsed = new ArgList(args, ["--io", "--input", "--output", "--inputs", "--out", "--tolerance|-t", "--scenario", "--threads"], ["--overwrite"]);
        string archive = parsed.SinglePositional("archive path");
        Approximation level = Approximation.Approximate;
        if (parsed.Get("--tolerance") is string t && !Tolerance.TryParseLevel(t, out level))
        {
            throw new UsageException($"unknown tolerance '{t}' (expected exact, close, approximate, very, super or ultra)");
        }

        int threads = 0;
        if (parsed.Get("--threads") is string th && (!int.TryParse(th, NumberStyles.None, CultureInfo.InvariantCulture, out threads) || threads < 1))
        {
            throw new UsageException($"--threads expects a positive integer, got '{th}'");
        }

        var options = new EvaluationOptions { Scenario = parsed.Get("--scenario"), MaxDegreeOfParallelism = threads, Cancellation = cancellation };
        string? io = parsed.Get("--io");
        string? outPath = parsed.Get("--out");
        if (io is not null && (outPath is not null || parsed.Get("--inputs") is not null))
        {
            throw new UsageException("--io checks a bundle; use --inputs with --out for a plain run");
        }

        List<(string Name, string Path)> inputFiles = parsed.GetAll("--input").Select(ParseNamed).ToList();
        List<(string Name, string Path)> outputFiles = parsed.GetAll("--output").Select(ParseNamed).ToList();
        if (outPath is not null && outputFiles.Count > 0)
        {
            throw new UsageException("--out writes outputs; expected outputs (--output) are not checked in that mode");
        }

        if (outPath is null && io is null && outputFiles.Count == 0)
        {
            throw new UsageException("give --io, --output, or --out");
        }

        if (outPath is null && parsed.Has("--overwrite"))
        {
            throw new UsageException("--overwrite applies to --out");
        }

        // The output is declared (and refused if need be) before anything is read.
        using var transaction = new OutputTransaction(
            new OutputOptions { Overwrite = parsed.Has("--overwrite"), Notice = m => stderr.WriteLine($"t2n verify: {m}") },
            cancellation);
        foreach (string input in new[] { archive, io, parsed.Get("--inputs") }.Concat(inputFiles.Concat(outputFiles).Select(f => f.Path)).OfType<string>())
        {
            transaction.AddInput(input);
        }

        OutputTarget? target = outPath is null ? null : transaction.AddOutput(outPath, NumpyOutputKinds.Npz);

        List<NamedTensor> arrays = [];
        if (io is not null)
        {
            arrays.AddRange(IoBundle.ReadNpz(io));
        }

        if (parsed.Get("--inputs") is string inputs)
        {
            arrays.AddRange(IoBundle.ReadNpz(inputs));
        }

        arrays.AddRange(inputFiles.Select(f => IoBundle.ReadNpy(f.Name, f.Path)));
        List<NamedTensor> expected = outputFiles.Select(f => IoBundle.ReadNpy(f.Name, f.Path)).ToList();
        Graph graph = NnefArchive.Read(archive);

        // An archive exported from ONNX also takes (and then writes) bundles keyed by the ONNX names.
        arrays = OnnxBundleNames.ToNnef(graph, arrays, out bool onnxNames);
        expected = OnnxBundleNames.ToNnef(graph, expected, out _);
        if (target is not null)
        {
            return Run(graph, arrays, target, transaction, options, stdout, onnxNames);
        }

        VerificationReport report = GraphVerifier.Verify(graph, [.. arrays, .. expected], level, options);
        Print(report, level, stdout);
        if (!report.Passed)
        {
            stderr.WriteLine($"t2n verify: {report.Outputs.Count(o => !o.Passed)} of {report.Outputs.Count} output(s) outside '{LevelName(level)}'");
            return CliApp.Failure;
        }

        return 0;
    }

    private static int Run(Graph graph, List<NamedTensor> inputs, OutputTarget target, OutputTransaction transaction, EvaluationOptions options, TextWriter stdout, bool onnxNames)
    {
        var evaluator = new GraphEvaluator(graph, options);

        // An io bundle also holds the reference outputs: feed only the arrays named like graph inputs.
        List<NamedTensor> fed = inputs.Where(t => evaluator.Inputs.Any(i => i.Name == t.Name)).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        IReadOnlyList<NamedTensor> outputs = evaluator.Run(fed.Count > 0 ? fed : inputs);
        clock.Stop();
        if (onnxNames)
        {
            outputs = OnnxBundleNames.ToOnnx(graph, outputs);
        }

        using (FileStream stream = target.CreateFile())
        {
            IoBundle.WriteNpz(stream, outputs);
            stream.Flush(flushToDisk: true);
        }

        transaction.Commit();
        foreach (NamedTensor o in outputs)
        {
            stdout.WriteLine($"{TerminalText.Escape(o.Name)}: {o.Value}");
        }

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"evaluated in {clock.Elapsed.TotalMilliseconds:F1} ms; wrote {TerminalText.Escape(target.Path)}"));
        return 0;
    }

    private static void Print(VerificationReport report, Approximation level, TextWriter stdout)
    {
        stdout.WriteLine($"tolerance: {LevelName(level)}");
        foreach (OutputComparison o in report.Outputs)
        {
            string status = o.Passed ? "ok" : "FAIL";
            stdout.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{status,-4} {TerminalText.Escape(o.Name)}: max abs error {o.MaxAbsError:G4}, max rel error {o.MaxRelError:G4}, outliers {o.Outliers}/{o.Count} (compared as {o.ComparedAs}, atol {o.Tolerance.Atol:G4}, rtol {o.Tolerance.Rtol:G4})"));
            if (!o.Passed && o.Detail is not null)
            {
                stdout.WriteLine($"     {TerminalText.Escape(o.Detail)}");
            }
        }

        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"evaluated in {report.Elapsed.TotalMilliseconds:F1} ms"));
    }

    private static string LevelName(Approximation level) => level switch
    {
        Approximation.Exact => "exact",
        Approximation.Close => "close",
        Approximation.Approximate => "approximate",
        Approximation.VeryApproximate => "very",
        Approximation.SuperApproximate => "super",
        _ => "ultra",
    };

    private static (string Name, string Path) ParseNamed(string spec)
    {
        int eq = spec.IndexOf('=', StringComparison.Ordinal);
        return eq > 0 && eq < spec.Length - 1
            ? (spec[..eq], spec[(eq + 1)..])
            : throw new UsageException($"expected <name>=<file.npy>, got '{spec}'");
    }
}
