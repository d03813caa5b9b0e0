namespace TorchToNnef.Quant;

/// <summary>How <see cref="Q40Quantizer"/> runs: threads, progress and error measurement.</summary>
public sealed class Q40QuantizeOptions
{
    /// <summary>Default options: all cores, no progress, no error measurement.</summary>
    public static Q40QuantizeOptions Default { get; } = new();

    /// <summary>
    /// Most threads used for one tensor (default: all cores). Results are identical for every value: the tensor is
    /// cut into fixed chunks whatever the thread count.
    /// </summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Receives the number of source values done so far, after each window.</summary>
    public IProgress<long>? Progress { get; init; }

    /// <summary>When set, the error of every quantized value is added to it.</summary>
    public Q40ErrorStats? Errors { get; init; }

    /// <summary>
    /// Accept blocks whose f16 scale is not finite (a group holding NaN, or values near 3e38 whose scale overflows f16).
    /// False by default: such a block dequantizes to NaN or infinity, so the quantization stops with an
    /// <see cref="TorchToNnef.Errors.ImpossibleQuantizationException"/> naming the tensor and the group.
    /// </summary>
    public bool AllowNonFinite { get; init; }
}
