using System.CommandLine;
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

    public Command Define() => Opt.Command(Name, Summary, """
        Give --io (a bundle of inputs and
        expected outputs), or --input/--output arrays, or --inputs with --out to write the computed outputs without a
        check. Inputs are matched by name; f32 arrays feed f16 inputs (cast as tract's --allow-float-casts). Each output
        prints its max absolute and relative error and outlier count; the exit code is 0 only when all pass, 1 when an
        output is outside the tolerance. For export folders with separate .npy files (io.json), pass each as --input /
        --output. Archives made by `t2n export` from ONNX also take arrays keyed by the ONNX input/output names (and --out
        then writes ONNX names); an input frozen at export may be given only with its frozen value.
        """,
        Opt.Path("archive", "a .nnef.tgz / .nnef.tar archive or an extracted NNEF directory"),
        Opt.Value("--io", "npz", "inputs and expected outputs by name (torch_to_nnef's io.npz / tests/*_io.npz layout)"),
        Opt.Repeated("--input", "name=file.npy", "one input array (repeatable)"),
        Opt.Repeated("--output", "name=file.npy", "one expected output (repeatable)"),
        Opt.Value("--inputs", "npz", "inputs by name, for a plain run; every array must name a graph input (or output, as in an io bundle)"),
        Opt.Value("--out", "npz", "write the computed outputs (no check); written atomically, never over an input"),
        Opt.Flag("--overwrite", "replace an existing --out file if it is an npz of arrays (anything else is refused)"),
        Opt.Value("--tolerance", "level", "exact | close | approximate (default) | very | super | ultra, as tract's --approx", "-t", "-tt", "--tract-check-io-tolerance").Completing(Opt.ToleranceLevels),
        Opt.Value("--scenario", "name", "also check the tract_assert lines of this scenario (e.g. tg, pp)"),
        Opt.Value("--threads", "n", "worker threads for matrix products (default: all cores)"));

    public int Execute(CommandArgs parsed, CommandContext context)
    {
        TextWriter stdout = context.Out;
        string archive = parsed.Argument("archive");
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

        // On a terminal, a progress line (statements of the graph evaluated) once the run has lasted half a second.
        using ProgressLine? progress = context.Progress();
        var options = new EvaluationOptions
        {
            Scenario = parsed.Get("--scenario"),
            MaxDegreeOfParallelism = threads,
            Cancellation = context.Cancellation,
            Progress = progress?.ForEvaluation(TimeSpan.FromSeconds(0.5)),
        };
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
            new OutputOptions { Overwrite = parsed.Has("--overwrite"), Notice = context.Notice },
            context.Cancellation);
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

        // Arrays given as inputs are matched by name: one that names no graph input is an error, never fed by position.
        var given = new List<(NamedTensor Array, string File)>();
        if (parsed.Get("--inputs") is string inputs)
        {
            given.AddRange(IoBundle.ReadNpz(inputs).Select(t => (t, inputs)));
        }

        given.AddRange(inputFiles.Select(f => (IoBundle.ReadNpy(f.Name, f.Path), f.Path)));
        List<NamedTensor> expected = outputFiles.Select(f => IoBundle.ReadNpy(f.Name, f.Path)).ToList();
        Graph graph = NnefArchive.Read(archive);
        // An archive exported from ONNX also takes (and then writes) bundles keyed by the ONNX names: they are mapped to
        // the graph's NNEF names (per file, so an error still names the file) before the arrays are matched by name.
        arrays = OnnxBundleNames.ToNnef(graph, arrays, out bool onnxNames);
        expected = OnnxBundleNames.ToNnef(graph, expected, out _);
        var renamed = new List<(NamedTensor Array, string File)>();
        foreach (IGrouping<string, (NamedTensor Array, string File)> file in given.GroupBy(g => g.File, StringComparer.Ordinal))
        {
            List<NamedTensor> mapped = OnnxBundleNames.ToNnef(graph, [.. file.Select(g => g.Array)], out bool used);
            onnxNames |= used;
            renamed.AddRange(mapped.Select(m => (m, file.Key)));
        }

        string[] graphInputs = [.. graph.Inputs];
        foreach ((NamedTensor array, string file) in renamed)
        {
            // An io bundle given as --inputs also holds the reference outputs: those are left out, anything else is an error.
            if (!graphInputs.Contains(array.Name, StringComparer.Ordinal) && !(file.EndsWith(".npz", StringComparison.OrdinalIgnoreCase) && graph.Outputs.Contains(array.Name)))
            {
                string hint = Suggestions.Closest(array.Name, graphInputs) is string close ? $" (did you mean '{close}'?)" : string.Empty;
                throw new InvalidInputFileException(file, null, $"array '{array.Name}' matches no input of {archive} (inputs: {string.Join(", ", graphInputs)}){hint}");
            }
        }

        arrays.AddRange(renamed.Select(g => g.Array).Where(a => graphInputs.Contains(a.Name, StringComparer.Ordinal)));
        context.Summary.Inputs.AddRange(new[] { archive, io, parsed.Get("--inputs") }.Concat(inputFiles.Concat(outputFiles).Select(f => f.Path)).OfType<string>());
        if (target is not null)
        {
            context.Summary.Outputs.Add(target.Path);
            return Run(graph, arrays, target, transaction, options, progress, stdout, onnxNames);
        }

        VerificationReport report = GraphVerifier.Verify(graph, [.. arrays, .. expected], level, options);
        progress?.Clear();
        Print(report, level, stdout);
        context.Summary.Checks = [.. report.Outputs.Select(o => new OutputCheckSummary(o.Name, o.Passed, o.MaxAbsError, o.MaxRelError, o.Outliers, o.Count, o.Detail))];
        if (!report.Passed)
        {
            context.Fail($"{report.Outputs.Count(o => !o.Passed)} of {report.Outputs.Count} output(s) outside '{LevelName(level)}'");
            return ExitCodes.CheckFailed;
        }

        return 0;
    }

    private static int Run(Graph graph, List<NamedTensor> inputs, OutputTarget target, OutputTransaction transaction, EvaluationOptions options, ProgressLine? progress, TextWriter stdout, bool onnxNames)
    {
        var evaluator = new GraphEvaluator(graph, options);

        // Every array was checked to name a graph input: they are fed by name.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        IReadOnlyList<NamedTensor> outputs = evaluator.Run(inputs);
        clock.Stop();
        progress?.Clear();
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
