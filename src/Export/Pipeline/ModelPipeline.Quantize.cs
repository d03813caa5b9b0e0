using System.Diagnostics;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.IO;
using TorchToNnef.Quant;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Pipeline;

public static partial class ModelPipeline
{
    /// <summary>
    /// Quantizes every tensor of a safetensors file to a tract Q4_0 <c>.dat</c> file in
    /// <paramref name="outputDirectory"/>, one file per tensor however the names look: a name that is not usable as a
    /// file name as it is gets a safe, unique one, and an index (<see cref="TensorFileIndex"/>) maps every tensor to
    /// its file. Everything that can be checked from the header (eligibility, names, every output against the output
    /// policy) is checked before the first file is written; the files are written under temporary names and moved
    /// into place together at the end.
    /// </summary>
    /// <param name="input">A <c>.safetensors</c> file, a sharded <c>*.safetensors.index.json</c> or a checkpoint folder (never modified).</param>
    /// <param name="outputDirectory">The folder to write (created if needed).</param>
    /// <param name="options">Target, calibration, threads, output policy and progress.</param>
    /// <param name="cancellation">Stops the run; what it wrote is removed and <see cref="OperationCanceledException"/> thrown.</param>
    /// <exception cref="ImpossibleQuantizationException">A tensor cannot be quantized (and <see cref="QuantizeCheckpointOptions.SkipIneligible"/> is off); nothing was written.</exception>
    /// <exception cref="OutputRefusedException">An output path is refused by the output policy; nothing was written.</exception>
    public static QuantizeCheckpointResult QuantizeCheckpoint(string input, string outputDirectory, QuantizeCheckpointOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(input);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        options ??= new QuantizeCheckpointOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDegreeOfParallelism, 1);
        var clock = Stopwatch.StartNew();
        using var transaction = new OutputTransaction(new OutputOptions { Overwrite = options.Overwrite, Notice = options.Notice }, cancellation);
        transaction.AddInput(input);
        using SafetensorsCheckpoint file = SafetensorsCheckpoint.Open(input);
        foreach (SafetensorsFile shard in file.Shards)
        {
            transaction.AddInput(shard.Path);
        }

        QuantizePlan plan = QuantizePlan.Make(file, outputDirectory, options.SkipIneligible, transaction);

        bool legacyOrder = !options.TractVersion.UsesGgmlQ40Order;
        var errors = new Q40ErrorStats?[plan.Tensors.Count];
        var sources = new Q40TensorSource[plan.Tensors.Count];
        for (int i = 0; i < sources.Length; i++)
        {
            errors[i] = options.MeasureErrors ? new Q40ErrorStats() : null;
            SafetensorsEntry entry = plan.Tensors[i].Entry;
            sources[i] = new Q40TensorSource(
                file.GetSource(entry.Name), entry.Name, options.Calibration, new Q40QuantizeOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism, Errors = errors[i], AllowNonFinite = options.AllowNonFinite });
        }

        var progress = new ProgressCounter(options.Progress, [.. sources.Select(s => s.ByteLength)]);
        using (SourcePrefetcher? ahead = Prefetch(sources, options.MaxDegreeOfParallelism, cancellation))
        {
            for (int i = 0; i < sources.Length; i++)
            {
                QuantizePlan.Planned p = plan.Tensors[i];
                progress.Begin(p.Entry.Name);
                using (FileStream stream = p.Target.CreateFile())
                {
                    DatFile.Write(progress.Counting(stream), ahead?[i] ?? sources[i], DatHeader.For(DType.Q40, p.Entry.Shape, legacyQ40Order: legacyOrder));
                    stream.Flush(flushToDisk: options.Durable);
                }

                progress.End();
            }
        }

        if (plan.Index is not null)
        {
            using FileStream stream = plan.Index.CreateFile();
            TensorFileIndex.Write(stream, Path.GetFileName(input), plan.Tensors.Select(p => KeyValuePair.Create(p.Entry.Name, p.FileName)));
            stream.Flush(flushToDisk: options.Durable);
        }

        transaction.Commit();
        QuantizedTensorFile[] written =
        [
            .. plan.Tensors.Select((p, i) => new QuantizedTensorFile(
                p.Entry.Name, p.FileName, p.Entry.DType, p.Entry.Shape, p.Entry.ByteLength, DatHeader.Size + sources[i].ByteLength, errors[i])),
        ];
        return new QuantizeCheckpointResult(
            outputDirectory, written, plan.Skipped, plan.Index is null ? null : TensorFileIndex.FileName, options.TractVersion, options.Calibration, clock.Elapsed);
    }

    /// <summary>Produces several sources ahead of the writer on worker threads, when there is more than one of each.</summary>
    private static SourcePrefetcher? Prefetch(IReadOnlyList<Ir.TensorSource> sources, int threads, CancellationToken cancellation) =>
        threads > 1 && sources.Count > 1
            ? new SourcePrefetcher(sources, threads, TensorsAheadPerWorker * threads, cancellation: cancellation)
            : null;

    /// <summary>The checks made before anything is written, and what they decided.</summary>
    private sealed class QuantizePlan
    {
        public List<Planned> Tensors { get; } = [];

        public List<SkippedTensor> Skipped { get; } = [];

        public OutputTarget? Index { get; private set; }

        // Eligibility, file names, and every output against the output policy (existing files, overwrite, the input
        // itself, names that would share a file).
        public static QuantizePlan Make(SafetensorsCheckpoint file, string output, bool skipIneligible, OutputTransaction transaction)
        {
            var names = new FlatFileNames(".dat");
            var plan = new QuantizePlan();
            var eligible = new List<(SafetensorsEntry Entry, string FileName)>();
            foreach (SafetensorsEntry e in file.Entries)
            {
                if (Q40Format.IsEligible(e.DType, e.Shape, out string? reason))
                {
                    eligible.Add((e, names.Get(e.Name)));
                }
                else
                {
                    plan.Skipped.Add(new SkippedTensor(e.Name, reason!));
                }
            }

            if (plan.Skipped.Count > 0 && !skipIneligible)
            {
                List<SkippedTensor> refused = plan.Skipped;
                string others = refused.Count > 1 ? $" (and {refused.Count - 1} more: {string.Join(", ", refused.Skip(1).Select(r => r.Name))})" : string.Empty;
                throw new ImpossibleQuantizationException(refused[0].Name, $"{refused[0].Reason}{others}; nothing was written (keeping ineligible tensors in float, SkipIneligible, quantizes the others; t2n quantize does so unless --strict)");
            }

            foreach ((SafetensorsEntry entry, string fileName) in eligible)
            {
                plan.Tensors.Add(new Planned(entry, fileName, transaction.AddOutput(Path.Combine(output, fileName), NnefOutputKinds.TensorFile)));
            }

            if (eligible.Any(e => !names.IsVerbatim(e.Entry.Name)))
            {
                plan.Index = transaction.AddOutput(Path.Combine(output, TensorFileIndex.FileName), TensorFileIndex.OutputKind);
            }

            return plan;
        }

        public sealed record Planned(SafetensorsEntry Entry, string FileName, OutputTarget Target);
    }
}
