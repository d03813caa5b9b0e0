using TorchToNnef.Ir;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant;

/// <summary>
/// Quantizes f32, f16 and bf16 tensors to tract Q4_0 blocks (<see cref="DType.Q40"/>), torch_to_nnef style: the
/// eligibility rules and a calibration (min-max by default, byte-identical to torch_to_nnef). Large tensors are split
/// into fixed chunks spread over all cores (same bytes as one thread); sources that are not in memory are read in
/// small windows. Which tract release reads the result, and in which <c>.dat</c> encoding, is the NNEF writer's
/// business, not this one's.
/// </summary>
public static class Q40Quantizer
{
    /// <summary>Quantizes <paramref name="source"/> into a new owned <see cref="DType.Q40"/> tensor of the same shape.</summary>
    /// <param name="source">An f32, f16 or bf16 tensor of rank 2 to 4 whose rows are a multiple of 32 values.</param>
    /// <param name="tensorName">Name used in error messages.</param>
    /// <param name="calibration">How scales are chosen; <see cref="Q40Calibration.MinMax"/> when null.</param>
    /// <param name="options">Threads, progress and error measurement.</param>
    /// <exception cref="Errors.ImpossibleQuantizationException">The tensor is not eligible (dtype, rank or row size).</exception>
    public static Tensor Quantize(Tensor source, string? tensorName = null, Q40Calibration? calibration = null, Q40QuantizeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        Q40Format.ThrowIfIneligible(source.DType, source.Shape, tensorName);
        OwnedTensorData data = OwnedTensorData.Allocate(DType.Q40.ByteSize(source.ElementCount), clear: false);
        try
        {
            Pipeline(source, calibration, options, tensorName).RunInto(data.Memory);
            return new Tensor(DType.Q40, source.Shape, data);
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
    public static void WriteBlocks(Tensor source, Stream destination, string? tensorName = null, Q40Calibration? calibration = null, Q40QuantizeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        Q40Format.ThrowIfIneligible(source.DType, source.Shape, tensorName);
        Pipeline(source, calibration, options, tensorName).RunTo(destination);
    }

    /// <summary>
    /// The quantized tensor as a source that a graph variable can hold: nothing is computed until a writer streams it
    /// or someone opens it (see <see cref="Q40TensorSource"/>). Eligibility is checked now, so an ineligible weight
    /// fails early.
    /// </summary>
    /// <exception cref="Errors.ImpossibleQuantizationException">The tensor is not eligible.</exception>
    public static Q40TensorSource Lazy(TensorSource source, string? tensorName = null, Q40Calibration? calibration = null, Q40QuantizeOptions? options = null) =>
        new(source, tensorName, calibration, options);

    internal static Q40Pipeline Pipeline(Tensor source, Q40Calibration? calibration, Q40QuantizeOptions? options, string? tensorName = null) =>
        new(source, calibration ?? Q40Calibration.MinMax, options ?? Q40QuantizeOptions.Default, tensorName);
}
