namespace TorchToNnef.KernelCheck;

/// <summary>Every evaluator kernel at every width this process runs, against its scalar reference.</summary>
public static class EvaluatorChecks
{
    /// <summary>Returns one line per mismatching case.</summary>
    public static List<string> Run(int seeds)
    {
        var failures = new List<string>();
        failures.AddRange(Q40PanelChecks.Run(seeds));
        failures.AddRange(GemmChecks.Run(seeds));
        failures.AddRange(ElementWiseChecks.Run(seeds));
        failures.AddRange(ReductionChecks.Run(seeds));
        failures.AddRange(ConvChecks.Run(seeds));
        return failures;
    }
}
