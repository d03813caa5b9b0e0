namespace TorchToNnef.Export.Llm.Reference;

/// <summary>Arithmetic of the reference forward pass.</summary>
public enum ReferencePrecision
{
    /// <summary>Weights widened exactly to f32, every activation f32 (what an f32 export computes).</summary>
    F32,

    /// <summary>
    /// What an f16 export computes: weights rounded to f16, every op computed in f32 from f16 operands and its result
    /// rounded to f16 (the evaluator's and tract's f16 semantics), attention included. Rotary frequencies stay f32;
    /// only the cos/sin tables are rounded.
    /// </summary>
    F16,

    /// <summary>
    /// <see cref="F16"/> with attention scores, mask and softmax in f32 (<c>-f32-attn</c>); the probabilities are
    /// rounded to f16 before the product with the values.
    /// </summary>
    F16WithF32Attention,
}
