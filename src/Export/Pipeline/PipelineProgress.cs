namespace TorchToNnef.Export.Pipeline;

/// <summary>How far a <see cref="ModelPipeline"/> run is, reported on the writing thread.</summary>
/// <param name="Tensor">The tensor being written (its name, or for an archive its <c>.dat</c> member).</param>
/// <param name="TensorsDone">Tensors completely written.</param>
/// <param name="TensorCount">Tensors to write.</param>
/// <param name="BytesDone">Payload bytes written so far (all tensors).</param>
/// <param name="TotalBytes">Payload bytes of all tensors.</param>
public readonly record struct PipelineProgress(string Tensor, int TensorsDone, int TensorCount, long BytesDone, long TotalBytes)
{
    /// <summary>The fraction done, 0 to 1 (1 when there is nothing to write).</summary>
    public double Fraction => TotalBytes == 0 ? 1 : (double)BytesDone / TotalBytes;
}
