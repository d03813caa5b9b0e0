using System.Globalization;
using System.Runtime.Intrinsics;
using TorchToNnef.Export.Evaluation.Kernels;
using TorchToNnef.KernelCheck;
using TorchToNnef.Quant.Kernels;

// Usage: KernelCheck [seeds] [--only scalar|v128|v256|v512] | KernelCheck [seeds] --evaluator | KernelCheck [seeds] --crc32
//        | KernelCheck --all-reciprocals [--only K]
// Output: a "widths" line and a "ran" line (the kernels checked) the parent test parses, then one line per failure;
// exit code 1 on any failure, 2 when --only names a kernel this process cannot run. --evaluator checks the evaluator's
// kernels at every width this process runs instead of the Q4_0 quantizer's, and reports them on an "evaluator ran" line;
// --crc32 checks the archive's CRC-32 paths against System.IO.Hashing and reports them on a "crc32 ran" line.
int seeds = 3;
Q40KernelKind? only = null;
bool evaluator = false;
bool allReciprocals = false;
bool crc32 = false;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--only" && i + 1 < args.Length)
    {
        only = CpuKernels.Parse(args[++i]);
    }
    else if (args[i] == "--evaluator")
    {
        evaluator = true;
    }
    else if (args[i] == "--crc32")
    {
        crc32 = true;
    }
    else if (args[i] == "--all-reciprocals")
    {
        allReciprocals = true;
    }
    else
    {
        seeds = int.Parse(args[i], CultureInfo.InvariantCulture);
    }
}

Console.WriteLine(
    $"widths: v128={Vector128.IsHardwareAccelerated} v256={Vector256.IsHardwareAccelerated} v512={Vector512.IsHardwareAccelerated} " +
    $"active={Q40Kernels.Active} supported={string.Join(",", Q40Kernels.SupportedKinds)}");
if (evaluator)
{
    List<string> evaluatorFailures = EvaluatorChecks.Run(seeds);
    return Report($"evaluator ran: active={KernelWidths.Active} widths={string.Join(",", KernelWidths.Supported)}", evaluatorFailures);
}

if (crc32)
{
    List<string> crcFailures = Crc32Checks.Run(seeds);
    return Report($"crc32 ran: widest={Crc32Checks.Widest} paths={string.Join(",", Crc32Checks.Supported)}", crcFailures);
}

if (only is { } wanted && !Q40Kernels.IsSupported(wanted))
{
    Console.WriteLine($"ran: (none) -- {wanted} cannot run in this process");
    return 2;
}

Q40KernelKind[] kinds = only is { } k ? [k] : [.. Q40Kernels.SupportedKinds];
var failures = new List<string>();
if (allReciprocals)
{
    // The long sweep (every f16 input with every f16 reciprocal), run by hand: see AllReciprocalsCheck.
    foreach (Q40KernelKind kind in kinds)
    {
        failures.AddRange(AllReciprocalsCheck.Run(kind));
    }

    return Report($"ran: {string.Join(",", kinds)} (all reciprocals)", failures);
}

foreach (Q40KernelKind kind in kinds)
{
    failures.AddRange(KernelChecks.Run(kind, seeds));
    failures.AddRange(GoldenChecks.Run(kind));
}

if (only is null)
{
    failures.AddRange(KernelChecks.BFloat16Conversions(seeds));
    failures.AddRange(KernelChecks.HalfConversions(seeds));
}

return Report($"ran: {string.Join(",", kinds)}", failures);

// The lines the tests read: what ran, the first 50 failures, then "ok" or the count; exit code 1 on any failure.
static int Report(string ran, List<string> failures)
{
    Console.WriteLine(ran);
    foreach (string f in failures.Take(50))
    {
        Console.WriteLine("FAIL " + f);
    }

    Console.WriteLine(failures.Count == 0 ? "ok" : $"{failures.Count} failures");
    return failures.Count == 0 ? 0 : 1;
}
