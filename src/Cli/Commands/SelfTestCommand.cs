using System.CommandLine;
using System.Diagnostics;
using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.Cli.Commands;

/// <summary>
/// <c>t2n selftest</c>: runs every Q4_0 kernel this CPU supports against the scalar reference on generated data
/// (<see cref="Q40SelfTest"/>) and reports pass/fail per kernel; exit code 1 when one disagrees.
/// </summary>
internal sealed class SelfTestCommand : ICommand
{
    public string Name => "selftest";

    public string Summary => "Check every Q4_0 kernel this CPU supports against the scalar reference";

    public Command Define() => Opt.Command(Name, Summary, """
        Quantizes generated f32, f16 and bf16 data with each kernel (scalar, Vector128, Vector256, Vector512, as this CPU
        and this binary allow) for every group count that exercises a loop tail, then
        dequantizes to f32 and f16, and compares every byte with the scalar reference. Prints one line per kernel and
        exits with 1 if any kernel disagrees.
        """,
        Opt.Value("--seed", "n", "seed of the generated data (default 1)"));

    public int Execute(CommandArgs args, CommandContext context)
    {
        int seed = 1;
        if (args.Get("--seed") is string s && !int.TryParse(s, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out seed))
        {
            throw new UsageException($"--seed must be an integer, got '{s}'");
        }

        context.Summary.Kernel = Q40Kernels.Active.ToString();
        var clock = Stopwatch.StartNew();
        var failed = new List<string>();
        foreach (Q40KernelKind kind in Q40Kernels.SupportedKinds)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            Q40SelfTestResult result = Q40SelfTest.Run(kind, seed);
            string active = kind == Q40Kernels.Active ? " (active)" : string.Empty;
            context.Out.WriteLine($"{(result.Passed ? "pass" : "FAIL")} {kind}{active}: {result.Cases} comparisons, {result.Failures.Count} failure(s)");
            foreach (string f in result.Failures.Take(context.Mode.Verbose ? int.MaxValue : 5))
            {
                context.Out.WriteLine($"     {f}");
            }

            (context.Summary.Checks ??= []).Add(new OutputCheckSummary(kind.ToString(), result.Passed, 0, 0, result.Failures.Count, result.Cases, result.Failures.FirstOrDefault()));
            if (!result.Passed)
            {
                failed.Add(kind.ToString());
            }
        }

        context.Detail($"checked in {clock.Elapsed.TotalSeconds:0.00} s");
        if (failed.Count > 0)
        {
            context.Fail($"{string.Join(", ", failed)} disagree(s) with the scalar reference; set {Q40Kernels.ForceVariable}=Scalar to run without it and please report this");
            return ExitCodes.CheckFailed;
        }

        return ExitCodes.Success;
    }
}
