using TorchToNnef.Ir;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Registry;

/// <summary>
/// A named way of compressing a model's weights (torch_to_nnef's compression registry entry): which kinds of
/// weight it selects and how it quantizes one. Applying it to a graph: for each float weight consumed by a
/// linear/matmul, conv or embedding gather, ask <see cref="Selects"/>; if selected and
/// <see cref="IsEligible"/>, replace the weight with <see cref="QuantizeLazily"/> (or <see cref="Quantize"/>);
/// an ineligible weight stays float (torch_to_nnef logs it and moves on).
/// Derive from this class (or build one with another <see cref="Q40Calibration"/>) to add methods.
/// </summary>
public class CompressionMethod
{
    private readonly HashSet<WeightKind> _kinds;

    /// <summary>Creates a method.</summary>
    /// <param name="key">Registry key, e.g. <c>min_max_q4_0</c>.</param>
    /// <param name="calibration">How groups are quantized.</param>
    /// <param name="selectedKinds">Weight kinds it quantizes.</param>
    /// <param name="description">One line for listings.</param>
    public CompressionMethod(string key, Q40Calibration calibration, IEnumerable<WeightKind> selectedKinds, string? description = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(calibration);
        ArgumentNullException.ThrowIfNull(selectedKinds);
        Key = key;
        Calibration = calibration;
        _kinds = [.. selectedKinds];
        Description = description ?? $"Q4_0 with {calibration.Name} calibration for {string.Join(", ", _kinds.Order())} weights";
    }

    /// <summary>Registry key.</summary>
    public string Key { get; }

    /// <summary>The calibration used for each group.</summary>
    public Q40Calibration Calibration { get; }

    /// <summary>One-line description.</summary>
    public string Description { get; }

    /// <summary>The weight kinds this method quantizes.</summary>
    public IReadOnlyCollection<WeightKind> SelectedKinds => _kinds;

    /// <summary>True when weights of this kind are to be quantized by this method.</summary>
    public virtual bool Selects(WeightKind kind) => _kinds.Contains(kind);

    /// <summary>True when the weight can be stored as Q4_0 (dtype f32/f16/bf16, rank 2..4, rows a multiple of 32).</summary>
    public virtual bool IsEligible(TensorSource weight, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(weight);
        return Q40Format.IsEligible(weight.DType, weight.Shape, out reason);
    }

    /// <summary>Quantizes now into an owned <see cref="DType.Q40"/> tensor.</summary>
    /// <exception cref="Errors.ImpossibleQuantizationException">The weight is not eligible; the message names it.</exception>
    public virtual Tensor Quantize(Tensor weight, string? name, Q40QuantizeOptions? options = null) =>
        Q40Quantizer.Quantize(weight, name, Calibration, options);

    /// <summary>
    /// The weight as a lazily quantized Q4_0 source (<see cref="Q40TensorSource"/>) that a graph variable holds in
    /// place of the float one: it is quantized when written (streamed in windows, bounded memory) or opened.
    /// <paramref name="weight"/> must stay usable until the source has been consumed.
    /// </summary>
    /// <exception cref="Errors.ImpossibleQuantizationException">The weight is not eligible; the message names it.</exception>
    public virtual TensorSource QuantizeLazily(TensorSource weight, string? name, Q40QuantizeOptions? options = null) =>
        new Q40TensorSource(weight, name, Calibration, options);

    /// <inheritdoc />
    public override string ToString() => Key;
}
