using System.Text.Json.Serialization;

namespace TorchToNnef.Export.Pipeline;

/// <summary>Source-generated JSON for <see cref="InspectReport.ToJson"/> (<c>t2n inspect --json</c>) (no reflection; safe for Native AOT).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InspectReport))]
internal sealed partial class InspectJsonContext : JsonSerializerContext;
