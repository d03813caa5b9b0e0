namespace TorchToNnef.Export.Llm;

/// <summary>A linear layer in a checkpoint: <c>y = x · Wᵀ (+ b)</c>, weight <c>[Out, In]</c>, optional bias <c>[Out]</c>.</summary>
/// <param name="Weight">Checkpoint name of the weight.</param>
/// <param name="Bias">Checkpoint name of the bias, or null.</param>
/// <param name="OutFeatures">Rows of the weight.</param>
/// <param name="InFeatures">Columns of the weight.</param>
public sealed record LinearWeights(string Weight, string? Bias, int OutFeatures, int InFeatures);

/// <summary>
/// One projection's output: rows <c>[Offset, Offset + Size)</c> of <see cref="Linear"/>'s output. A separate
/// projection is the whole of its own linear; a fused one is a slice of a shared one (Phi 3's <c>qkv_proj</c>).
/// </summary>
/// <param name="Linear">The linear layer computing it.</param>
/// <param name="Offset">First output row.</param>
/// <param name="Size">Number of output rows.</param>
public sealed record Projection(LinearWeights Linear, int Offset, int Size)
{
    /// <summary>True when the projection is a slice of a larger (fused) linear.</summary>
    public bool IsFused => Size != Linear.OutFeatures;
}
