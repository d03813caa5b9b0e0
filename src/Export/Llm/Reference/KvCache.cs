namespace TorchToNnef.Export.Llm.Reference;

/// <summary>
/// One layer's key or value cache as the exported graph carries it, without the batch axis: <c>[kv_heads, length,
/// head_dim]</c>, row-major, keys after the rotary embedding.
/// </summary>
public sealed class KvCache
{
    /// <summary>Wraps <paramref name="keys"/> and <paramref name="values"/> (not copied).</summary>
    /// <exception cref="ArgumentException">An array's size does not match the shape.</exception>
    public KvCache(int kvHeads, int length, int headDim, float[] keys, float[] values)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        long size = (long)kvHeads * length * headDim;
        if (keys.Length != size || values.Length != size)
        {
            throw new ArgumentException($"A [{kvHeads}, {length}, {headDim}] cache needs {size} keys and values, got {keys.Length} and {values.Length}.");
        }

        (KvHeads, Length, HeadDim, Keys, Values) = (kvHeads, length, headDim, keys, values);
    }

    /// <summary>Key/value heads.</summary>
    public int KvHeads { get; }

    /// <summary>Cached positions.</summary>
    public int Length { get; }

    /// <summary>Head dimension.</summary>
    public int HeadDim { get; }

    /// <summary>Keys <c>[kv_heads, length, head_dim]</c>.</summary>
    public float[] Keys { get; }

    /// <summary>Values <c>[kv_heads, length, head_dim]</c>.</summary>
    public float[] Values { get; }

    /// <summary>An empty cache (P = 0).</summary>
    public static KvCache Empty(int kvHeads, int headDim) => new(kvHeads, 0, headDim, [], []);
}

/// <summary>The result of one forward step.</summary>
/// <param name="Logits">Logits of the last <paramref name="LogitPositions"/> positions, <c>[positions, vocab]</c> row-major.</param>
/// <param name="LogitPositions">Positions with logits.</param>
/// <param name="VocabSize">Vocabulary size.</param>
/// <param name="Caches">Per layer, the past cache with this step's keys and values appended.</param>
public sealed record ForwardResult(float[] Logits, int LogitPositions, int VocabSize, IReadOnlyList<KvCache> Caches);
