using TorchToNnef.Tensors;

namespace TorchToNnef.Ir;

/// <summary>
/// Where a variable's data comes from, resolved only when needed: a memory-mapped view, an in-memory tensor, or a
/// computation (for example Q4_0 quantization of a checkpoint tensor) run when a writer or evaluator asks for it.
/// This keeps the graph of a multi-GB model small: data is produced, written and released one tensor at a time.
/// </summary>
public abstract class TensorSource
{
    /// <summary>Data type of the tensor this source produces.</summary>
    public abstract DType DType { get; }

    /// <summary>Shape of the tensor this source produces.</summary>
    public abstract Shape Shape { get; }

    /// <summary>Payload size in bytes.</summary>
    public long ByteLength => DType.ByteSize(Shape.ElementCount);

    /// <summary>Produces the tensor. The caller owns (and disposes) the result.</summary>
    public abstract Tensor Open();

    /// <summary>Streams the payload bytes to <paramref name="destination"/> in bounded windows.</summary>
    public virtual void WriteTo(Stream destination)
    {
        using Tensor tensor = Open();
        CopyPayload(tensor.Data, destination);
    }

    /// <summary>
    /// Copies a payload to a stream in windows of at most <see cref="TensorData.DefaultWindowBytes"/>. A mapped
    /// payload is never asked for one span over all of it: writing such a span would pull every page of the tensor
    /// into the resident set at once, so copying a checkpoint would grow the process to the checkpoint's size.
    /// </summary>
    protected static void CopyPayload(TensorData data, Stream destination) => data.CopyTo(destination);

    /// <summary>A source that hands out non-owning views of an existing tensor (the caller keeps ownership).</summary>
    public static TensorSource FromTensor(Tensor tensor) => new TensorViewSource(tensor);

    /// <summary>A source computed on demand by <paramref name="produce"/>, which must return a tensor of the given dtype and shape.</summary>
    public static TensorSource Computed(DType dtype, Shape shape, Func<Tensor> produce) => new ComputedSource(dtype, shape, produce);

    private sealed class TensorViewSource(Tensor tensor) : TensorSource
    {
        public override DType DType => tensor.DType;

        public override Shape Shape => tensor.Shape;

        // Reshape to the same shape gives a view that does not own the payload.
        public override Tensor Open() => tensor.Reshape(tensor.Shape);

        public override void WriteTo(Stream destination) => CopyPayload(tensor.Data, destination);
    }

    private sealed class ComputedSource(DType dtype, Shape shape, Func<Tensor> produce) : TensorSource
    {
        public override DType DType => dtype;

        public override Shape Shape => shape;

        public override Tensor Open()
        {
            Tensor t = produce();
            if (t.DType != dtype || t.Shape != shape)
            {
                string got = t.ToString();
                t.Dispose();
                throw new InvalidOperationException($"Computed tensor is {got}, expected {dtype.Name()}{shape}.");
            }

            return t;
        }
    }
}
