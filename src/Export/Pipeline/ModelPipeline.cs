namespace TorchToNnef.Export.Pipeline;

/// <summary>
/// What the <c>t2n</c> commands do, as library calls: quantize a checkpoint to Q4_0 <c>.dat</c> files
/// (<see cref="QuantizeCheckpoint"/>), compress the weights of an NNEF archive (<see cref="CompressArchive"/>) and
/// inspect a model (<see cref="Inspect"/>). Each run streams one tensor at a time (several in flight on worker
/// threads, written in order), reports progress, stops on cancellation, and writes its outputs as one transaction: a
/// failed or cancelled run leaves nothing behind and never touches its input.
/// </summary>
public static partial class ModelPipeline
{
    // Tensors produced ahead of the writer, per worker thread: enough to keep every worker busy while one tensor is
    // written, each holding a few MiB at most (SourcePrefetcher bounds its pipes).
    private const int TensorsAheadPerWorker = 2;
}
