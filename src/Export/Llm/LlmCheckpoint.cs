using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.Formats.Safetensors;

namespace TorchToNnef.Export.Llm;

/// <summary>
/// A Hugging Face decoder checkpoint opened for export: its files, config, resolved architecture and memory-mapped
/// safetensors weights, all validated (config, family, every tensor's name, shape and dtype) before anything is
/// written. Only headers are read on open; weights are touched when a consumer streams them.
/// </summary>
public sealed class LlmCheckpoint : IDisposable
{
    private LlmCheckpoint(HfModelDirectory files, DecoderArchitecture architecture, SafetensorsCheckpoint weights, CheckpointSummary summary)
    {
        Files = files;
        Architecture = architecture;
        Weights = weights;
        Summary = summary;
    }

    /// <summary>Where the files are.</summary>
    public HfModelDirectory Files { get; }

    /// <summary>The config.</summary>
    public DecoderConfig Config => Architecture.Config;

    /// <summary>The resolved architecture.</summary>
    public DecoderArchitecture Architecture { get; }

    /// <summary>The weights (zero-copy views valid while this object is open).</summary>
    public SafetensorsCheckpoint Weights { get; }

    /// <summary>Parameter count and main weight dtype.</summary>
    public CheckpointSummary Summary { get; }

    /// <summary>Opens a local checkpoint directory (<c>-d</c>).</summary>
    public static LlmCheckpoint OpenDirectory(string directory) => Open(HfModelDirectory.FromLocalDirectory(directory));

    /// <summary>Opens a cached Hugging Face model by id (<c>-s</c>), offline.</summary>
    public static LlmCheckpoint OpenCached(string slug, Func<string, string?>? environment = null) =>
        Open(HfModelDirectory.FromCache(slug, environment));

    /// <summary>Opens the checkpoint <paramref name="files"/> describe.</summary>
    /// <exception cref="Errors.InvalidInputFileException">A malformed or inconsistent file; a tensor missing, misshapen or unexpected.</exception>
    /// <exception cref="Errors.UnsupportedFeatureException">An unknown family or a config option not implemented.</exception>
    public static LlmCheckpoint Open(HfModelDirectory files)
    {
        DecoderArchitecture architecture = DecoderArchitecture.Resolve(DecoderConfig.Read(files.ConfigPath));
        SafetensorsCheckpoint weights = SafetensorsCheckpoint.Open(files.ModelDir);
        try
        {
            return new LlmCheckpoint(files, architecture, weights, CheckpointValidator.Validate(architecture, weights));
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose() => Weights.Dispose();
}
