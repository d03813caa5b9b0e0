using TorchToNnef.Export.Llm.Reference;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Llm;

/// <summary>
/// The arithmetic of an exported decoder (<c>llm-export.md</c> §7): the float type of its weights, activations and KV
/// caches (f32, or f16 with <c>-dt f16</c>), whether attention scores, mask and softmax are computed in f32 inside an
/// f16 graph (<c>-f32-attn</c>), and whether linear layers accumulate in f32 and add their bias in f32 before rounding
/// (the reference tool forces both for Qwen 2 in half precision, whose activations overflow f16). RMS norms always
/// normalize in f32, and rotary angles are always computed in f32.
/// </summary>
/// <param name="Weights">Float type of weights and activations: <see cref="DType.F32"/> or <see cref="DType.F16"/>.</param>
/// <param name="F32Attention">Attention scores, mask and softmax in f32 (only meaningful in f16).</param>
/// <param name="F32LinearAccumulation">Linear products accumulated in f32 with an f32 bias, then rounded (f16 only).</param>
public sealed record LlmPrecision(DType Weights, bool F32Attention = false, bool F32LinearAccumulation = false)
{
    /// <summary>f32 throughout.</summary>
    public static LlmPrecision F32 { get; } = new(DType.F32);

    /// <summary>True for an f16 graph.</summary>
    public bool IsHalf => Weights == DType.F16;

    /// <summary>Type of activations, caches and logits.</summary>
    public DatumType Activation => IsHalf ? DatumType.F16 : DatumType.F32;

    /// <summary>Type in which attention scores are scaled, masked and normalized.</summary>
    public DatumType AttentionScores => IsHalf && !F32Attention ? DatumType.F16 : DatumType.F32;

    /// <summary>The reference forward pass computing what this graph computes.</summary>
    public ReferencePrecision Reference =>
        !IsHalf ? ReferencePrecision.F32 : F32Attention ? ReferencePrecision.F16WithF32Attention : ReferencePrecision.F16;

    /// <summary>
    /// The precision of an export: <paramref name="forced"/> (<c>-dt</c>) or f32 (what the reference tool loads without
    /// <c>-dt</c>); f32 attention when asked; for <paramref name="modelType"/> <c>qwen2</c> in f16, f32 attention and
    /// f32 linear accumulation as the reference tool forces them.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="forced"/> is not f32 or f16.</exception>
    public static LlmPrecision For(DType? forced, bool f32Attention, string modelType)
    {
        DType weights = forced ?? DType.F32;
        if (weights is not (DType.F32 or DType.F16))
        {
            throw new ArgumentException($"An export computes in f32 or f16, not {weights.Name()} (NNEF has no bf16 tensors).", nameof(forced));
        }

        bool qwen2Half = weights == DType.F16 && modelType == "qwen2";
        return new LlmPrecision(weights, weights == DType.F16 && (f32Attention || qwen2Half), qwen2Half);
    }
}
