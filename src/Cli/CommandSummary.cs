using System.Text.Json.Serialization;

namespace TorchToNnef.Cli;

/// <summary>
/// The machine-readable summary a command prints with <c>--json</c> (one JSON document on stdout): what was read and
/// written, sizes before and after, per-tensor figures, timings, warnings, and the exit code with the error when the
/// run failed. Fields a command has nothing to say about are left out.
/// </summary>
internal sealed class CommandSummary
{
    /// <summary>The command, e.g. <c>quantize</c>.</summary>
    public required string Command { get; init; }

    /// <summary><c>ok</c>, <c>check-failed</c>, <c>usage-error</c>, <c>error</c> or <c>interrupted</c>.</summary>
    public string Status { get; set; } = "ok";

    /// <summary>The process exit code.</summary>
    public int ExitCode { get; set; }

    /// <summary>The one-line error, when the run failed.</summary>
    public string? Error { get; set; }

    /// <summary>Files and folders read.</summary>
    public List<string> Inputs { get; } = [];

    /// <summary>Files and folders written (once committed).</summary>
    public List<string> Outputs { get; } = [];

    /// <summary>The compression method as typed on the command line.</summary>
    public string? Method { get; set; }

    /// <summary>The tract version the output targets.</summary>
    public string? TractVersion { get; set; }

    /// <summary>The Q4_0 kernel that ran.</summary>
    public string? Kernel { get; set; }

    /// <summary>Size of the input (whole archive or the tensors read), in bytes.</summary>
    public long? BytesBefore { get; set; }

    /// <summary>Size of what was written, in bytes.</summary>
    public long? BytesAfter { get; set; }

    /// <summary>Weights turned into Q4_0.</summary>
    public int? Quantized { get; set; }

    /// <summary>Tensors written or kept in float.</summary>
    public int? KeptFloat { get; set; }

    /// <summary>Per-tensor figures (with <c>--report</c>, or the tensors kept in float).</summary>
    public List<TensorSummary>? Tensors { get; set; }

    /// <summary>Per-output comparison (verify).</summary>
    public List<OutputCheckSummary>? Checks { get; set; }

    /// <summary>Wall time of the run.</summary>
    public double ElapsedSeconds { get; set; }

    /// <summary>Every warning printed (or that would have been printed without <c>--quiet</c>).</summary>
    public List<string> Warnings { get; } = [];
}

/// <summary>One tensor in a summary.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Action"><c>quantized</c> or <c>kept-float</c>.</param>
internal sealed record TensorSummary(string Name, string Action)
{
    /// <summary>Element type read.</summary>
    public string? DType { get; init; }

    /// <summary>Shape read.</summary>
    public string? Shape { get; init; }

    /// <summary>File written, relative to the output.</summary>
    public string? File { get; init; }

    /// <summary>Why it stayed float.</summary>
    public string? Reason { get; init; }

    /// <summary>Root mean square error of the quantization.</summary>
    public double? Rmse { get; init; }

    /// <summary>Largest absolute error.</summary>
    public double? MaxAbsError { get; init; }

    /// <summary>Signal to quantization noise ratio, in dB.</summary>
    public double? SqnrDb { get; init; }
}

/// <summary>One compared output in a verify summary.</summary>
internal sealed record OutputCheckSummary(string Name, bool Passed, double MaxAbsError, double MaxRelError, long Outliers, long Count, string? Detail);

/// <summary>Source-generated JSON for the summaries (no reflection; safe for Native AOT).</summary>
// A relative error is infinite where the reference is 0 and the output is not: written as the string "Infinity"
// (JSON has no such number) instead of failing the whole summary.
[JsonSourceGenerationOptions(
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CommandSummary))]
internal sealed partial class SummaryJsonContext : JsonSerializerContext;
