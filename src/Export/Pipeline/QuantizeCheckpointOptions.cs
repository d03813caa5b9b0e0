using TorchToNnef.Formats.Nnef;
using TorchToNnef.Quant;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Pipeline;

/// <summary>Options of <see cref="ModelPipeline.QuantizeCheckpoint"/>.</summary>
public sealed record QuantizeCheckpointOptions
{
    /// <summary>
    /// The tract release the files are for: before 0.21.11 the <c>.dat</c> files use the legacy Q4_0 nibble order
    /// (item type 0x2040). Default: <see cref="TractVersion.Latest"/>.
    /// </summary>
    public TractVersion TractVersion { get; init; } = TractVersion.Latest;

    /// <summary>How each group's scale is chosen. Default: min-max, byte-identical to torch_to_nnef.</summary>
    public Q40Calibration Calibration { get; init; } = Q40Calibration.MinMax;

    /// <summary>
    /// Skip tensors that cannot be quantized (listed in <see cref="QuantizeCheckpointResult.Skipped"/>) instead of
    /// failing before anything is written. Off by default.
    /// </summary>
    public bool SkipIneligible { get; init; }

    /// <summary>Measure each tensor's quantization error (<see cref="QuantizedTensorFile.Errors"/>). Off by default.</summary>
    public bool MeasureErrors { get; init; }

    /// <summary>Keep Q4_0 blocks whose f16 scale is NaN or infinite instead of failing (<see cref="Q40QuantizeOptions.AllowNonFinite"/>).</summary>
    public bool AllowNonFinite { get; init; }

    /// <summary>
    /// Threads: several tensors are quantized at once, ahead of the writer through a bounded queue, and each large
    /// tensor is split over threads. The files' bytes do not depend on it. Default: the number of cores.
    /// </summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Replace existing <c>.dat</c> files (and index) of earlier runs; anything else at those paths is refused.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Flush each file to the storage device before it is moved into place (slower).</summary>
    public bool Durable { get; init; }

    /// <summary>Receives notices about the outputs (for example a stale temporary file removed).</summary>
    public Action<string>? Notice { get; init; }

    /// <summary>Receives progress on the writing thread, about every MiB written and after each tensor.</summary>
    public IProgress<PipelineProgress>? Progress { get; init; }
}

/// <summary>What <see cref="ModelPipeline.QuantizeCheckpoint"/> did.</summary>
/// <param name="OutputDirectory">The folder written.</param>
/// <param name="Tensors">Every tensor written, in checkpoint order.</param>
/// <param name="Skipped">Tensors left out because they cannot be quantized (only with <see cref="QuantizeCheckpointOptions.SkipIneligible"/>).</param>
/// <param name="IndexFile">
/// The name of the index mapping tensor names to files (<see cref="TensorFileIndex.FileName"/>) when some name was not
/// usable as a file name as it is; null otherwise.
/// </param>
/// <param name="TractVersion">The tract release the files are for.</param>
/// <param name="Calibration">The calibration used.</param>
/// <param name="Elapsed">Wall time of the run.</param>
public sealed record QuantizeCheckpointResult(
    string OutputDirectory,
    IReadOnlyList<QuantizedTensorFile> Tensors,
    IReadOnlyList<SkippedTensor> Skipped,
    string? IndexFile,
    TractVersion TractVersion,
    Q40Calibration Calibration,
    TimeSpan Elapsed)
{
    /// <summary>Bytes of the float tensors read.</summary>
    public long SourceBytes => Tensors.Sum(t => t.SourceBytes);

    /// <summary>Bytes of the files written (headers included; the index excluded).</summary>
    public long WrittenBytes => Tensors.Sum(t => t.FileBytes);
}

/// <summary>One tensor of a checkpoint written as a Q4_0 <c>.dat</c> file.</summary>
/// <param name="Name">The tensor's name in the checkpoint.</param>
/// <param name="FileName">Its file in the output folder (the name plus <c>.dat</c> when usable as it is).</param>
/// <param name="SourceDType">The float type it had.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="SourceBytes">Its size in the checkpoint.</param>
/// <param name="FileBytes">The size of its <c>.dat</c> file.</param>
/// <param name="Errors">Its quantization error, when measured.</param>
public sealed record QuantizedTensorFile(string Name, string FileName, DType SourceDType, Shape Shape, long SourceBytes, long FileBytes, Q40ErrorStats? Errors);

/// <summary>A tensor left out, and why.</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="Reason">Why it was left out.</param>
public sealed record SkippedTensor(string Name, string Reason);
