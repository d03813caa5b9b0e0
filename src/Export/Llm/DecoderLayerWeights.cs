namespace TorchToNnef.Export.Llm;

/// <summary>The tensors of one decoder layer, by role (checkpoint names).</summary>
public sealed record DecoderLayerWeights
{
    /// <summary>Layer index.</summary>
    public required int Index { get; init; }

    /// <summary>RMS norm weight before attention <c>[hidden]</c>.</summary>
    public required string AttentionNorm { get; init; }

    /// <summary>Query projection (<c>heads · head_dim</c> outputs).</summary>
    public required Projection Query { get; init; }

    /// <summary>Key projection (<c>kv_heads · head_dim</c> outputs).</summary>
    public required Projection Key { get; init; }

    /// <summary>Value projection (<c>kv_heads · head_dim</c> outputs).</summary>
    public required Projection Value { get; init; }

    /// <summary>Per-head query RMS norm weight <c>[head_dim]</c>, or null.</summary>
    public string? QueryNorm { get; init; }

    /// <summary>Per-head key RMS norm weight <c>[head_dim]</c>, or null.</summary>
    public string? KeyNorm { get; init; }

    /// <summary>Attention output projection <c>[hidden, heads · head_dim]</c>.</summary>
    public required LinearWeights Output { get; init; }

    /// <summary>Sliding attention window of this layer, or null for full causal attention.</summary>
    public long? AttentionWindow { get; init; }

    /// <summary>RMS norm weight before the MLP <c>[hidden]</c>.</summary>
    public required string MlpNorm { get; init; }

    /// <summary>Gate projection (<c>intermediate</c> outputs; SiLU is applied to it).</summary>
    public required Projection Gate { get; init; }

    /// <summary>Up projection (<c>intermediate</c> outputs).</summary>
    public required Projection Up { get; init; }

    /// <summary>Down projection <c>[hidden, intermediate]</c>.</summary>
    public required LinearWeights Down { get; init; }

    /// <summary>The distinct linears computing q, k and v (three, or one when fused), in order.</summary>
    public IReadOnlyList<LinearWeights> QkvLinears => Distinct(Query.Linear, Key.Linear, Value.Linear);

    /// <summary>The distinct linears computing gate and up (two, or one when fused), in order.</summary>
    public IReadOnlyList<LinearWeights> GateUpLinears => Distinct(Gate.Linear, Up.Linear);

    private static List<LinearWeights> Distinct(params LinearWeights[] linears) => linears.Distinct().ToList();
}
