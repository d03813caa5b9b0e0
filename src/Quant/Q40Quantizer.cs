using TorchToNnef.Ir;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant;

/// <summary>
/// Quantizes f32, f16 and bf16 tensors to tract Q4_0, torch_to_nnef style: the eligibility rules, a calibration
/// (min-max by default, byte-identical to torch_to_nnef) and the nibble order of the target tract version.
/// Large tensors are split into fixed chunks spread over all cores (same bytes as one thread); sources that are not
/// in memory are read in small windows.
/// </summary>
public static class Q40Quantizer
{
    /// <summary>
    /// Quantizes <paramref name="source"/> for <paramref name="target"/> into a new owned Q4_0 tensor
    /// (<see cref="DType.Q40"/> for tract &gt;= 0.21.11, else <see cref="DType.Q40Legacy"/>) of the same shape.
    /// </summary>
    /// <param name="source">An f32, f16 or bf16 tensor of rank 2 to 4 whose rows are a multiple of 32 values.</param>
    /// <param name="target">Target tract version; decides the nibble order.</param>
    /// <param name="tensorName">Name used in error messages.</param>
    /// <param name="calibration">How scales are chosen; <see cref="Q40Calibration.MinMax"/> when null.</param>
    /// <param name="options">Threads, progress and error measurement.</param>
    /// <exception cref="Errors.ImpossibleQuantizationException">The tensor is not eligible (dtype, rank or row size).</exception>
    public static Tensor Quantize(Tensor source, TractVersion target, string? tensorName = null, Q40Calibration? calibration = null, Q40QuantizeOptions? options = null) =>
        Quantize(source, Q40Format.DTypeFor(target), tensorName, calibration, options);

    /// <summary>As <see cref="Quantize(Tensor, TractVersion, string?, Q40Calibration?, Q40QuantizeOptions?)"/> with an explicit layout dtype.</summary>
    public static Tensor Quantize(Tensor source, DType layout, string? tensorName = null, Q40Calibration? calibration = null, Q40QuantizeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        CheckLayout(layout);
        Q40Format.ThrowIfIneligible(source.DType, source.Shape, tensorName);
        OwnedTensorData data = OwnedTensorData.Allocate(layout.ByteSize(source.ElementCount), clear: false);
        try
        {
            new Q40Pipeline(source, layout, calibration ?? Q40Calibration.MinMax, options ?? Q40QuantizeOptions.Default).RunInto(data);
            return new Tensor(layout, source.Shape, data);
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Quantizes <paramref name="source"/> and writes only the blocks (the <c>.dat</c> payload, no header) to
    /// <paramref name="destination"/>, a window at a time: memory use does not grow with the tensor size.
    /// </summary>
    /// <exception cref="Errors.ImpossibleQuantizationException">The tensor is not eligible.</exception>
    public static void WriteBlocks(Tensor source, Stream destination, DType layout, string? tensorName = null, Q40Calibration? calibration = null, Q40QuantizeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        CheckLayout(layout);
        Q40Format.ThrowIfIneligible(source.DType, source.Shape, tensorName);
        new Q40Pipeline(source, layout, calibration ?? Q40Calibration.MinMax, options ?? Q40QuantizeOptions.Default).RunTo(destination);
    }

    /// <summary>
    /// A lazy source of the quantized tensor: nothing is computed until a writer streams it
    /// (<see cref="TensorSource.WriteTo"/>, windowed) or someone opens it. Eligibility is checked now, so an
    /// ineligible weight fails early. <paramref name="source"/> must stay alive (not disposed) while the result is used.
    /// </summary>
    /// <exception cref="Errors.ImpossibleQuantizationException">The tensor is not eligible.</exception>
    public static TensorSource Lazy(Tensor source, TractVersion target, string? tensorName = null, Q40Calibration? calibration = null, Q40QuantizeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        Q40Format.ThrowIfIneligible(source.DType, source.Shape, tensorName);
        return new LazyQ40Source(source, Q40Format.DTypeFor(target), tensorName, calibration, options);
    }

    private static void CheckLayout(DType layout)
    {
        if (!layout.IsBlockQuantized())
        {
            throw new ArgumentException($"{layout.Name()} is not a Q4_0 layout (use Q40 or Q40Legacy).", nameof(layout));
        }
    }

    private sealed class LazyQ40Source(Tensor source, DType layout, string? name, Q40Calibration? calibration, Q40QuantizeOptions? options) : TensorSource
    {
        public override DType DType => layout;

        public override Shape Shape => source.Shape;

        public override Tensor Open() => Quantize(source, layout, name, calibration, options);

        public override void WriteTo(Stream destination) => WriteBlocks(source, destination, layout, name, calibration, options);
    }
}
