using System.Runtime.Intrinsics;
using TorchToNnef.Export.Evaluation.Kernels;
using TorchToNnef.KernelCheck;
using TorchToNnef.Quant.Kernels;

// Arguments: [seeds] [suite: q40 (default) | evaluator | all]. Output: a "widths" line and an "evaluator widths" line the
// parent tests parse, then one line per failure; exit code 1 on any failure.
Console.WriteLine(
    $"widths: v128={Vector128.IsHardwareAccelerated} v256={Vector256.IsHardwareAccelerated} v512={Vector512.IsHardwareAccelerated} " +
    $"active={Q40Kernels.Active} supported={string.Join(",", Q40Kernels.SupportedKinds)}");
Console.WriteLine($"evaluator widths: active={KernelWidths.Active} ran={string.Join(",", KernelWidths.Supported)}");
int seeds = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 3;
string suite = args.Length > 1 ? args[1] : "q40";
var failures = new List<string>();
if (suite is "all" or "q40")
{
    foreach (Q40KernelKind kind in Q40Kernels.SupportedKinds)
    {
        failures.AddRange(KernelChecks.Run(kind, seeds));
    }

    failures.AddRange(KernelChecks.BFloat16Conversions(seeds));
    failures.AddRange(KernelChecks.HalfConversions(seeds));
}

if (suite is "all" or "evaluator")
{
    failures.AddRange(EvaluatorChecks.Run(seeds));
}

foreach (string f in failures.Take(50))
{
    Console.WriteLine("FAIL " + f);
}

Console.WriteLine(failures.Count == 0 ? "ok" : $"{failures.Count} failures");
return failures.Count == 0 ? 0 : 1;
