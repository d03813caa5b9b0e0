using TorchToNnef.Export.Compression;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.IO;
using TorchToNnef.Quant;
using TorchToNnef.Quant.Registry;

namespace TorchToNnef.Export.Pipeline;

public static partial class ModelPipeline
{
    /// <summary>
    /// Reads an NNEF model (a <c>.nnef.tgz</c>, a <c>.tar</c> or a folder), turns the float weights read by
    /// linear/matmul, conv or embedding gathers into Q4_0 as <paramref name="method"/> selects them
    /// (<see cref="GraphCompressor"/>), and writes a new archive. Weights are read, quantized and written one at a
    /// time (several in flight), so memory does not grow with the model; weights the method selects but cannot
    /// quantize stay float and are listed in the result.
    /// </summary>
    /// <param name="input">The NNEF archive or folder (never modified).</param>
    /// <param name="output">Where to write (never the input, inside it, or holding it).</param>
    /// <param name="method">The compression method, for example <c>CompressionRegistry.Default.Get("min_max_q4_0")</c>.</param>
    /// <param name="options">Target, container, threads, output policy and progress.</param>
    /// <param name="cancellation">Stops the run; what it wrote is removed and <see cref="OperationCanceledException"/> thrown.</param>
    /// <exception cref="Errors.OutputRefusedException">The output path is refused by the output policy; nothing was written.</exception>
    public static CompressArchiveResult CompressArchive(string input, string output, CompressionMethod method, CompressArchiveOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(input);
        ArgumentException.ThrowIfNullOrEmpty(output);
        ArgumentNullException.ThrowIfNull(method);
        options ??= new CompressArchiveOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDegreeOfParallelism, 1);
        using var transaction = new OutputTransaction(new OutputOptions { Overwrite = options.Overwrite, Notice = options.Notice }, cancellation);
        transaction.AddInput(input);
        OutputTarget target = NnefArchive.DeclareOutput(transaction, output, options.Format);
        Graph graph = NnefArchive.Read(input);
        TractVersion version = NnefArchive.TargetVersionOf(graph, options.TractVersion);
        CompressionResult result = GraphCompressor.Compress(graph, method, new Q40QuantizeOptions { AllowNonFinite = options.AllowNonFinite });
        if (options.TractVersion is not null)
        {
            result.Graph.SetProperty("tract_target_version", version.ToString());
        }

        NnefArchive.Write(result.Graph, target, new NnefWriteOptions
        {
            TractVersion = version,
            Format = options.Format,
            CompressionLevel = options.CompressionLevel,
            MaxDegreeOfParallelism = options.MaxDegreeOfParallelism,
            Progress = options.Progress is null ? null : new WriteProgressAdapter(options.Progress),
        });
        transaction.Commit();
        return new CompressArchiveResult(output, method.Key, version, result.Quantized, result.Skipped);
    }

    private sealed class WriteProgressAdapter(IProgress<PipelineProgress> sink) : IProgress<NnefWriteProgress>
    {
        public void Report(NnefWriteProgress value) =>
            sink.Report(new PipelineProgress(value.Tensor, value.TensorsWritten, value.TensorCount, value.BytesWritten, value.TotalBytes));
    }
}
