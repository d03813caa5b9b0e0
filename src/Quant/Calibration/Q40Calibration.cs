using System.Runtime.InteropServices;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Calibration;

/// <summary>
/// A way of choosing each group's f16 scale and 4-bit codes. Implementations quantize whole groups of f32, f16 or
/// bf16 values straight into tract Q4_0 blocks; the caller (<see cref="Q40Quantizer"/>) handles windows, threads
/// and eligibility. Library users can derive their own and register it in a
/// <see cref="Registry.CompressionRegistry"/>.
/// </summary>
public abstract class Q40Calibration
{
    /// <summary>Short name, e.g. <c>min_max</c>.</summary>
    public abstract string Name { get; }

    /// <summary>torch_to_nnef's min-max calibration (percentile 1).</summary>
    public static Q40Calibration MinMax { get; } = new MinMaxCalibration();

    /// <summary>
    /// Quantizes whole groups: <paramref name="source"/> holds raw little-endian values of
    /// <paramref name="sourceDType"/> (a multiple of 32 of them), <paramref name="blocks"/> receives 18 bytes per group
    /// (<see cref="DType.Q40"/> blocks: f16 scale, then the codes in the GGML nibble order).
    /// Results never depend on how a tensor is cut into calls, so callers may split work freely across threads.
    /// </summary>
    /// <exception cref="ArgumentException">Lengths that are not whole groups or do not match, or unsupported dtypes.</exception>
    public void QuantizeGroups(DType sourceDType, ReadOnlySpan<byte> source, Span<byte> blocks) =>
        QuantizeGroupsReportingScales(sourceDType, source, blocks);

    /// <summary>
    /// <see cref="QuantizeGroups(DType, ReadOnlySpan{byte}, Span{byte})"/>, returning false when every block written is
    /// known to have a finite scale, true when some may not (then the caller looks at the blocks).
    /// </summary>
    internal bool QuantizeGroupsReportingScales(DType sourceDType, ReadOnlySpan<byte> source, Span<byte> blocks)
    {
        if (sourceDType is not (DType.F32 or DType.F16 or DType.BF16))
        {
            throw new ArgumentException($"only f32, f16 and bf16 values can be quantized to Q4_0, got {sourceDType.Name()}", nameof(sourceDType));
        }

        int bytesPerGroup = Q40Format.GroupSize * sourceDType.ElementSize();
        if (source.Length % bytesPerGroup != 0)
        {
            throw new ArgumentException($"{source.Length} bytes of {sourceDType.Name()} is not a whole number of {Q40Format.GroupSize}-value groups.", nameof(source));
        }

        int groups = source.Length / bytesPerGroup;
        if (blocks.Length != groups * Q40Format.BlockBytes)
        {
            throw new ArgumentException($"{groups} groups need {groups * Q40Format.BlockBytes} bytes of blocks, got {blocks.Length}.", nameof(blocks));
        }

        return QuantizeCoreReportingScales(sourceDType, source, blocks);
    }

    /// <summary>Convenience for f32 values.</summary>
    public void QuantizeGroups(ReadOnlySpan<float> values, Span<byte> blocks) =>
        QuantizeGroups(DType.F32, MemoryMarshal.AsBytes(values), blocks);

    /// <summary>
    /// Does the work of <see cref="QuantizeGroups(DType, ReadOnlySpan{byte}, Span{byte})"/> on validated
    /// arguments: whole groups, matching lengths, f32/f16/bf16 source.
    /// </summary>
    protected abstract void QuantizeCore(DType sourceDType, ReadOnlySpan<byte> source, Span<byte> blocks);

    /// <summary>
    /// <see cref="QuantizeCore"/> for calibrations that can tell whether every scale they wrote is finite (they return
    /// false then); by default nothing is known (true).
    /// </summary>
    private protected virtual bool QuantizeCoreReportingScales(DType sourceDType, ReadOnlySpan<byte> source, Span<byte> blocks)
    {
        QuantizeCore(sourceDType, source, blocks);
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
