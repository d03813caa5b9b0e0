namespace TorchToNnef.Formats.Nnef;

/// <summary>Container written by <see cref="NnefArchive.Write(Ir.Graph, string, NnefWriteOptions?, CancellationToken)"/>.</summary>
public enum NnefArchiveFormat
{
    /// <summary>From the destination name: <c>.tgz</c>/<c>.tar.gz</c> gives <see cref="Tgz"/>, <c>.tar</c> <see cref="Tar"/>, anything else a directory.</summary>
    Auto,
    /// <summary>A plain directory holding <c>graph.nnef</c>, <c>graph.quant</c> and the <c>.dat</c> files.</summary>
    Directory,
    /// <summary>A gzip-compressed tar (torch_to_nnef's <c>.nnef.tgz</c>).</summary>
    Tgz,
    /// <summary>An uncompressed tar.</summary>
    Tar,
}

/// <summary>Options of <see cref="NnefArchive.Write(Ir.Graph, string, NnefWriteOptions?, CancellationToken)"/>.</summary>
public sealed record NnefWriteOptions
{
    /// <summary>
    /// The tract release the archive is for; it decides the Q4_0 layout (and rank limit) and the literal syntax.
    /// Null: the graph's <c>tract_target_version</c> property when it parses, else <see cref="TractVersion.Latest"/>.
    /// </summary>
    public TractVersion? TractVersion { get; init; }

    /// <summary>Container; <see cref="NnefArchiveFormat.Auto"/> by default.</summary>
    public NnefArchiveFormat Format { get; init; } = NnefArchiveFormat.Auto;

    /// <summary>gzip level 0 (stored, as torch_to_nnef's default and its LLM export) to 9.</summary>
    public int CompressionLevel { get; init; }

    /// <summary>
    /// Replace an existing destination (atomically, once the new archive is complete), but only an NNEF archive or a
    /// folder holding nothing but an NNEF model (<see cref="NnefOutputKinds"/>); anything else is refused. Off by default.
    /// </summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// Threads that produce the tensors (quantize lazily compressed weights, convert, read) while the archive is
    /// written, several tensors at once, ahead of the writer through a bounded queue (a few MiB per thread, whatever
    /// the model's size); the archive's contents do not depend on it (in a level-0 <c>.tgz</c> the boundaries of the
    /// stored deflate blocks follow the writes, 1 MiB chunks with several threads, so its gzip bytes can differ from a
    /// one-thread write's while the tar inside is the same). 1 produces each tensor in turn on the calling thread.
    /// Default: the number of cores.
    /// </summary>
    public int MaxDegreeOfParallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Receives progress on the writing thread after each chunk written (about every MiB) and each tensor.</summary>
    public IProgress<NnefWriteProgress>? Progress { get; init; }

    /// <summary>
    /// Flush an archive file to the storage device before it is moved into place (default true). Without it the file
    /// is still complete before the move, but a power loss right after may leave it empty.
    /// </summary>
    public bool FlushToDisk { get; init; } = true;
}

/// <summary>How far an archive write is.</summary>
/// <param name="Tensor">The <c>.dat</c> member being written (its label plus <c>.dat</c>).</param>
/// <param name="TensorsWritten">Tensors completely written.</param>
/// <param name="TensorCount">Tensors to write.</param>
/// <param name="BytesWritten">Payload bytes written (all tensors so far).</param>
/// <param name="TotalBytes">Payload bytes of all tensors.</param>
public readonly record struct NnefWriteProgress(string Tensor, int TensorsWritten, int TensorCount, long BytesWritten, long TotalBytes);

/// <summary>Options of <see cref="NnefArchive.Read(string, NnefReadOptions?)"/>.</summary>
public sealed record NnefReadOptions
{
    /// <summary>
    /// Validate every <c>.dat</c> header but keep no payload: a <c>.tgz</c> is streamed without holding its tensors,
    /// so structure and sizes of any archive can be read in little memory. Opening a variable's data then throws.
    /// </summary>
    public bool HeadersOnly { get; init; }
}
