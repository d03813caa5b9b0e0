using TorchToNnef.Ir;
using TorchToNnef.Quant;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Compression;

/// <summary>
/// A float weight quantized by a compression method only when written or opened: the float data is opened (a
/// memory-mapped view for archives on disk), quantized chunk by chunk straight into the output, and released.
/// </summary>
internal sealed class CompressedWeightSource(TensorSource floats, CompressionMethod method, string name, TractVersion target) : TensorSource
{
    /// <summary>The float source that is quantized.</summary>
    public TensorSource Floats => floats;

    /// <inheritdoc />
    public override DType DType => Q40Format.DTypeFor(target);

    /// <inheritdoc />
    public override Shape Shape => floats.Shape;

    /// <inheritdoc />
    public override Tensor Open()
    {
        using Tensor w = floats.Open();
        return method.Quantize(w, name, target);
    }

    /// <inheritdoc />
    public override void WriteTo(Stream destination)
    {
        using Tensor w = floats.Open();
        method.QuantizeLazily(w, name, target).WriteTo(destination);
    }
}
