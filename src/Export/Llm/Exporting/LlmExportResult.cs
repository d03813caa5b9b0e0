using TorchToNnef.Export.Verification;

namespace TorchToNnef.Export.Llm.Exporting;

/// <summary>One mode of the verification: the archive's outputs against the reference pass.</summary>
/// <param name="Mode"><c>prompt</c>, <c>prompt_with_past</c>, <c>text_generation</c> or <c>export</c>.</param>
/// <param name="PastLength">P.</param>
/// <param name="NewTokens">S.</param>
/// <param name="Outputs">One comparison per graph output.</param>
public sealed record LlmModeCheck(string Mode, int PastLength, int NewTokens, IReadOnlyList<OutputComparison> Outputs)
{
    /// <summary>True when every output is within the tolerance.</summary>
    public bool Passed => Outputs.All(o => o.Passed);
}

/// <summary>What an export wrote and how long it took.</summary>
/// <param name="ExportDirectory">The export folder (in place).</param>
/// <param name="Archive">The archive inside it.</param>
/// <param name="Weights">Number of weights (parameters) exported.</param>
/// <param name="QuantizedTensors">Tensors stored as Q4_0.</param>
/// <param name="WriteTime">Building the graph and writing every file (verification excluded).</param>
/// <param name="VerifyTime">Reading the archive back, evaluating it and running the reference pass; zero with <c>-nv</c>.</param>
/// <param name="Checks">The verified modes; empty with <c>-nv</c>.</param>
/// <param name="Tolerance">The verification's tolerance: <c>-tt</c>, else <see cref="LlmExportOptions.DefaultTolerance"/>.</param>
public sealed record LlmExportResult(
    string ExportDirectory,
    string Archive,
    long Weights,
    int QuantizedTensors,
    TimeSpan WriteTime,
    TimeSpan VerifyTime,
    IReadOnlyList<LlmModeCheck> Checks,
    Approximation Tolerance);

/// <summary>The written archive does not compute what the reference pass computes; nothing was left at the destination.</summary>
public sealed class LlmVerificationException(string message, IReadOnlyList<LlmModeCheck> checks) : Exception(message)
{
    /// <summary>Every verified mode, failed ones included.</summary>
    public IReadOnlyList<LlmModeCheck> Checks { get; } = checks;
}
