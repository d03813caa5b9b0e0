using System.Text.Json.Serialization;

namespace TorchToNnef.Cli.Inspect;

/// <summary>Source-generated JSON for <c>t2n inspect --json</c> (no reflection; safe for Native AOT).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InspectReport))]
internal sealed partial class InspectJsonContext : JsonSerializerContext;
