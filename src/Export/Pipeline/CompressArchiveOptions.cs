using TorchToNnef.Export.Compression;
using TorchToNnef.Formats.Nnef;

namespace TorchToNnef.Export.Pipeline;

/// <summary>Options of <see cref="ModelPipeline.CompressArchive"/>.</summary>
public sealed record CompressArchiveOptions
{
    /// <summary>
    /// The tract release to write for; it is then recorded as the output's <c>tract_target_version</c>. Null: the
    /// input's <c>tract_target_version</c> when it has one, else <see cref="TractVersion.Latest"/>.
    /// </summary>
    public TractVersion? TractVersion { get; init; }

    /// <summary>The container of the output: by default from its name (<c>.tgz</c>, <c>.tar</c>, else a folder).</summary>
    public NnefArchiveFormat Format { get; init; } = NnefArchiveFormat.Auto;

    /// <summary>gzip level 0-9 of a <c>.tgz</c> output (default 0 = stored, as torch_to_nnef).</summary>
    public int CompressionLevel { get; init; }

    /// <summary>
    /// Threads: several weights are quantized at once, ahead of the writer through a bounded queue, and each large
    /// weight is split over threads. The output's bytes do not depend on it. Default: the number of cores.
    /// </summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Replace an existing output when it is an NNEF archive or a folder holding nothing but an NNEF model; anything
    /// else is refused.
    /// </summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// Keep Q4_0 blocks whose f16 scale is NaN or infinite (NaN weights, values near 3e38) instead of failing, naming the
    /// weight (<see cref="Quant.Q40QuantizeOptions.AllowNonFinite"/>).
    /// </summary>
    public bool AllowNonFinite { get; init; }

    /// <summary>Receives notices about the output (for example a stale temporary file removed).</summary>
    public Action<string>? Notice { get; init; }

    /// <summary>Receives progress on the writing thread, about every MiB written and after each tensor.</summary>
    public IProgress<PipelineProgress>? Progress { get; init; }
}

/// <summary>What <see cref="ModelPipeline.CompressArchive"/> did.</summary>
/// <param name="Output">The archive written.</param>
/// <param name="Method">The compression method's key.</param>
/// <param name="TractVersion">The tract release the archive was written for.</param>
/// <param name="Quantized">Weights now stored as Q4_0.</param>
/// <param name="Skipped">Weights the method selects that stay float, with the reason.</param>
public sealed record CompressArchiveResult(
    string Output,
    string Method,
    TractVersion TractVersion,
    IReadOnlyList<QuantizedWeight> Quantized,
    IReadOnlyList<SkippedWeight> Skipped)
{
    /// <summary>Bytes of the quantized weights before.</summary>
    public long FloatBytes => Quantized.Sum(q => q.FloatBytes);

    /// <summary>Bytes of the quantized weights after.</summary>
    public long QuantizedBytes => Quantized.Sum(q => q.QuantizedBytes);
}
