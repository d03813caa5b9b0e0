using System.Runtime.Intrinsics;
using TorchToNnef.KernelCheck;
using TorchToNnef.Quant.Kernels;

// Output: one "widths" line the parent test parses, then one line per failure; exit code 1 on any failure.
Console.WriteLine(
    $"widths: v128={Vector128.IsHardwareAccelerated} v256={Vector256.IsHardwareAccelerated} v512={Vector512.IsHardwareAccelerated} " +
    $"active={Q40Kernels.Active} supported={string.Join(",", Q40Kernels.SupportedKinds)}");
int seeds = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 3;
var failures = new List<string>();
foreach (Q40KernelKind kind in Q40Kernels.SupportedKinds)
{
    failures.AddRange(KernelChecks.Run(kind, seeds));
}

failures.AddRange(KernelChecks.BFloat16Conversions(seeds));
failures.AddRange(KernelChecks.HalfConversions(seeds));
failures.AddRange(GemmChecks.Run(seeds));
foreach (string f in failures.Take(50))
{
    Console.WriteLine("FAIL " + f);
}

Console.WriteLine(failures.Count == 0 ? "ok" : $"{failures.Count} failures");
return failures.Count == 0 ? 0 : 1;
