namespace TorchToNnef.Formats.HuggingFace;

/// <summary>How rotary frequencies are rescaled for long contexts (transformers' <c>rope_type</c>).</summary>
public enum RopeScaling
{
    /// <summary><c>default</c>: <c>inv_freq[i] = theta^(-2i/d)</c>, unscaled.</summary>
    None,

    /// <summary><c>linear</c>: every inverse frequency divided by <see cref="RopeSettings.Factor"/>.</summary>
    Linear,

    /// <summary><c>llama3</c>: low frequencies divided by the factor, high ones kept, a smooth ramp between (Llama 3.1/3.2).</summary>
    Llama3,
}

/// <summary>
/// Rotary position embedding settings of a decoder config, gathered from <c>rope_theta</c> + <c>rope_scaling</c>
/// (transformers 4, as Hub checkpoints write them) or <c>rope_parameters</c> (transformers 5).
/// </summary>
public sealed record RopeSettings
{
    /// <summary>Base of the frequencies (<c>rope_theta</c>).</summary>
    public required double Theta { get; init; }

    /// <summary>Scaling kind.</summary>
    public RopeScaling Scaling { get; init; } = RopeScaling.None;

    /// <summary><c>factor</c> (<see cref="RopeScaling.Linear"/>, <see cref="RopeScaling.Llama3"/>); 1 otherwise.</summary>
    public double Factor { get; init; } = 1;

    /// <summary><c>low_freq_factor</c> (<see cref="RopeScaling.Llama3"/>).</summary>
    public double LowFreqFactor { get; init; }

    /// <summary><c>high_freq_factor</c> (<see cref="RopeScaling.Llama3"/>).</summary>
    public double HighFreqFactor { get; init; }

    /// <summary><c>original_max_position_embeddings</c> (<see cref="RopeScaling.Llama3"/>).</summary>
    public long OriginalMaxPositionEmbeddings { get; init; }

    /// <summary>Fraction of each head's dimensions that rotate (<c>partial_rotary_factor</c>, 1 when absent).</summary>
    public double PartialRotaryFactor { get; init; } = 1;
}
