using TorchToNnef.Errors;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Llm;

/// <summary>What a checkpoint holds once checked against its architecture.</summary>
/// <param name="ParameterCount">Elements of all model tensors (tied weights once), as <c>model.parameters()</c> counts.</param>
/// <param name="MainWeightDType">The float dtype holding most parameters.</param>
public sealed record CheckpointSummary(long ParameterCount, DType MainWeightDType);

/// <summary>
/// Checks a safetensors checkpoint against a <see cref="DecoderArchitecture"/>: every expected tensor present with
/// its exact shape and a float dtype (f32, f16, bf16), and no tensor the architecture does not account for (which
/// would mean the config describes a different model). All problems are reported at once.
/// </summary>
public static class CheckpointValidator
{
    private const int MaxReported = 12;

    /// <summary>Validates and summarizes.</summary>
    /// <exception cref="InvalidInputFileException">Missing, misshapen, non-float or unexpected tensors (all listed).</exception>
    public static CheckpointSummary Validate(DecoderArchitecture architecture, SafetensorsCheckpoint checkpoint)
    {
        var problems = new List<string>();
        var expected = new HashSet<string>(StringComparer.Ordinal);
        var elementsByDType = new Dictionary<DType, long>();
        long parameters = 0;
        foreach (ExpectedTensor t in architecture.Tensors)
        {
            expected.Add(t.Name);
            if (!checkpoint.TryGetEntry(t.Name, out SafetensorsEntry entry))
            {
                problems.Add($"tensor '{t.Name}' is missing (expected shape [{string.Join(", ", t.Shape)}])");
                continue;
            }

            if (!entry.Shape.ToArray().SequenceEqual(t.Shape))
            {
                problems.Add($"tensor '{t.Name}' has shape {entry.Shape}, the config implies [{string.Join(", ", t.Shape)}]");
            }

            if (entry.DType is not (DType.F32 or DType.F16 or DType.BF16))
            {
                problems.Add($"tensor '{t.Name}' is {entry.DType.Name()}; weights must be f32, f16 or bf16");
            }

            parameters += entry.ElementCount;
            elementsByDType[entry.DType] = elementsByDType.GetValueOrDefault(entry.DType) + entry.ElementCount;
        }

        foreach (SafetensorsEntry e in checkpoint.Entries)
        {
            bool ignored = architecture.Family.IgnoredSuffixes.Any(s => e.Name.EndsWith(s, StringComparison.Ordinal))
                || (architecture.TiedEmbeddings && e.Name == architecture.Family.LmHead); // saved beside a tied embedding
            if (!expected.Contains(e.Name) && !ignored)
            {
                problems.Add($"tensor '{e.Name}' is not part of a {architecture.Config.ModelType} model with this config");
            }
        }

        if (problems.Count > 0)
        {
            string more = problems.Count > MaxReported ? $"; and {problems.Count - MaxReported} more" : string.Empty;
            throw new InvalidInputFileException(checkpoint.IndexPath ?? checkpoint.Path, null,
                $"checkpoint does not match {architecture.Config.Path}: {string.Join("; ", problems.Take(MaxReported))}{more}");
        }

        DType main = elementsByDType.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key).First().Key;
        return new CheckpointSummary(parameters, main);
    }
}
