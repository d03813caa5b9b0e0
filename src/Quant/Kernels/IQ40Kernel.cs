namespace TorchToNnef.Quant.Kernels;

/// <summary>Which implementation of the Q4_0 kernels runs.</summary>
public enum Q40KernelKind
{
    /// <summary>The scalar reference (the specification).</summary>
    Scalar,

    /// <summary>128-bit vectors (SSE4 / AdvSimd).</summary>
    Vector128,

    /// <summary>256-bit vectors (AVX2).</summary>
    Vector256,

    /// <summary>512-bit vectors (AVX-512).</summary>
    Vector512,
}

/// <summary>
/// One implementation of the Q4_0 building blocks, as static abstract members so that the generic driver
/// (<see cref="Q40Driver{TKernel}"/>) is specialized per kernel without virtual calls. Every span holds whole groups
/// of <see cref="Q40Format.GroupSize"/> values; lengths are checked by the driver, not here.
/// The members are the stages of min-max quantization and of dequantization:
/// <list type="number">
/// <item>input conversion (<see cref="WidenHalf"/>, <see cref="WidenBFloat16"/>): f16/bf16 to f32, exact;</item>
/// <item>per-group absolute maximum (<see cref="AbsMax"/>, and <see cref="AbsMaxBits"/> on raw f16/bf16 bits);</item>
/// <item>scale and reciprocal (<see cref="Scales"/>; for f16 input also fused with the maximum:
/// <see cref="ScalesFromHalves"/>);</item>
/// <item>codes and nibble packing (<see cref="EncodeF32"/>, <see cref="EncodeHalf"/>, <see cref="EncodeBFloat16"/>),
/// which write whole 18-byte blocks straight from the source values;</item>
/// <item>dequantization (<see cref="DequantizeF32"/>, <see cref="DequantizeF16"/>).</item>
/// </list>
/// </summary>
internal interface IQ40Kernel
{
    /// <summary>Which kernel this is.</summary>
    static abstract Q40KernelKind Kind { get; }

    /// <summary>True when the hardware runs this kernel's vector width natively.</summary>
    static abstract bool IsSupported { get; }

    /// <summary>f16 bits to f32 values (exact).</summary>
    static abstract void WidenHalf(ReadOnlySpan<ushort> source, Span<float> destination);

    /// <summary>bf16 bits to f32 values (exact).</summary>
    static abstract void WidenBFloat16(ReadOnlySpan<ushort> source, Span<float> destination);

    /// <summary>Per group: the largest |x| (exact, NaN wins over everything, as an integer max on sign-cleared bits).</summary>
    static abstract void AbsMax(ReadOnlySpan<float> values, Span<float> absMax);

    /// <summary>
    /// Per group of raw f16 or bf16 values: the largest sign-cleared bit pattern (both formats order magnitudes like
    /// integers, NaN above infinity), i.e. the bits of the absolute maximum.
    /// </summary>
    static abstract void AbsMaxBits(ReadOnlySpan<ushort> values, Span<ushort> absMaxBits);

    /// <summary>
    /// Per group: <c>scale = f16(a / -8)</c> (f16 bits, NaN canonical) and <c>r = f16(1 / scale)</c> as f32
    /// (<c>r = scale</c> when the scale is ±0). Exact for every input including NaN, infinities and subnormals.
    /// </summary>
    static abstract void Scales(ReadOnlySpan<float> absMax, Span<ushort> scales, Span<float> reciprocals);

    /// <summary>
    /// Per group of raw f16 values: the scale and reciprocal of min-max quantization, as <see cref="AbsMaxBits"/>,
    /// <see cref="WidenHalf"/> and <see cref="Scales"/> give them in turn (bit for bit, for every input). Returns true
    /// when some group's maximum is not finite (its scale is NaN or infinite) or its reciprocal is infinite: the groups
    /// <see cref="EncodeHalf"/> leaves to the reference, and the only ones that can have a non-finite scale.
    /// </summary>
    static abstract bool ScalesFromHalves(ReadOnlySpan<ushort> values, Span<ushort> scales, Span<float> reciprocals);

    /// <summary>
    /// Per group: codes <c>clamp(floor(x*r + 8.5), 0, 15)</c> with f32 arithmetic, packed with the scale into an
    /// 18-byte block. Valid for groups whose values and reciprocal are finite; the driver sends other groups to the
    /// scalar reference.
    /// </summary>
    static abstract void EncodeF32(ReadOnlySpan<float> values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks);

    /// <summary>As <see cref="EncodeF32"/> for raw f16 values, with f16 arithmetic: <c>x*r</c> and <c>+ 8.5</c> each rounded to f16.</summary>
    static abstract void EncodeHalf(ReadOnlySpan<ushort> values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks);

    /// <summary>As <see cref="EncodeF32"/> for raw bf16 values (bf16 x f16 promotes to f32, so f32 arithmetic).</summary>
    static abstract void EncodeBFloat16(ReadOnlySpan<ushort> values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks);

    /// <summary>tract's f32 dequantization: <c>(code - 8) * scale</c>, exact.</summary>
    static abstract void DequantizeF32(ReadOnlySpan<byte> blocks, Span<float> destination);

    /// <summary>tract's f16 dequantization: the product rounded to f16 (bits; NaN canonical).</summary>
    static abstract void DequantizeF16(ReadOnlySpan<byte> blocks, Span<ushort> destination);
}
