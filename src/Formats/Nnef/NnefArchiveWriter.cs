using System.Runtime.ExceptionServices;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef.Archive;
using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Nnef;

/// <summary>
/// A <c>.tgz</c> (or plain tar) archive whose large <c>.dat</c> members are written before the graph that holds them
/// exists: a caller that knows its weights early (an LLM exporter knows every weight and its label from its weight
/// plan) starts this with them, and from then on worker threads read, convert and quantize them while a writer thread
/// stores them in the archive, in the order given; meanwhile the caller builds, types and plans the graph on its own
/// thread, then calls <see cref="Finish"/>, which writes the members the graph adds (small constants a builder made),
/// then <c>graph.nnef</c> and <c>graph.quant</c>. Memory stays bounded as in <see cref="NnefArchive.WriteArchive(Graph, FileStream, NnefWriteOptions?)"/>
/// (a few MiB per thread, whatever the model's size).
/// <para>
/// Member order: the started <c>.dat</c> members in the order given, then the graph's other <c>.dat</c> members in
/// graph order, then <c>graph.nnef</c>, then <c>graph.quant</c> (when some value is quantized) — the order of
/// <see cref="NnefArchive.Write(Graph, string, NnefWriteOptions?, CancellationToken)"/> with the started members first.
/// tract collects every member before it loads any, so any order loads; the reference tool writes every <c>.dat</c>,
/// then <c>graph.nnef</c>, then <c>graph.quant</c> too.
/// </para>
/// <para>
/// <see cref="Finish"/> checks that every started member is a variable of the graph with the same (sanitized) label,
/// the same source and the same header, and throws otherwise. On any failure, or cancellation of the token given to
/// <see cref="Start"/>, the destination holds a partial archive: it must be a file of an <see cref="IO.OutputTransaction"/>
/// (<see cref="IO.OutputTarget.CreateFileIn"/>), which removes it when not committed. <see cref="Dispose"/> (also on
/// failure, before <see cref="Finish"/>) stops the workers and the writer thread and closes the destination.
/// </para>
/// </summary>
public sealed class NnefArchiveWriter : IDisposable
{
    private readonly DatMember[] _started;
    private readonly NnefWriteOptions _options;
    private readonly TractVersion _target;
    private readonly TarSink _sink;
    private readonly CancellationTokenSource _stop;
    private readonly SourcePrefetcher? _prefetcher;
    private readonly Thread? _writer;
    private ExceptionDispatchInfo? _writerError;
    private int _finished;
    private bool _disposed;

    private NnefArchiveWriter(DatMember[] started, NnefWriteOptions options, TractVersion target, TarSink sink, CancellationToken cancellation)
    {
        _started = started;
        _options = options;
        _target = target;
        _sink = sink;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        int threads = options.MaxDegreeOfParallelism;
        _prefetcher = NnefArchive.Prefetch(started, threads, ahead: started.Length > 1, _stop.Token);
        // With one thread (--threads 1) nothing runs beside the caller: Finish writes the started members itself.
        if (threads > 1)
        {
            _writer = new Thread(WriteStarted) { IsBackground = true, Name = "t2n archive writer" };
            _writer.Start();
        }
    }

    /// <summary>Number of started members.</summary>
    public int Count => _started.Length;

    /// <summary>
    /// Starts writing <paramref name="weights"/> into <paramref name="destination"/> (a new, empty file created by an
    /// output transaction; this writer disposes it), produced with <see cref="NnefWriteOptions.MaxDegreeOfParallelism"/>
    /// of <paramref name="options"/> threads and a writer thread (with one thread, none: <see cref="Finish"/> writes them
    /// all on the caller's thread, as <see cref="NnefArchive.WriteArchive(Graph, FileStream, NnefWriteOptions?)"/> would). The <c>.dat</c> headers are those of <see cref="NnefWriteOptions.TractVersion"/>
    /// (else the latest release): pass the options the graph would be written with.
    /// </summary>
    /// <param name="destination">The archive file.</param>
    /// <param name="weights">Each weight's variable label and data, in the order the archive stores them, each once.</param>
    /// <param name="options">Container (<see cref="NnefArchiveFormat.Tgz"/> or <see cref="NnefArchiveFormat.Tar"/>), compression level, target, threads.</param>
    /// <param name="cancellation">Stops the workers and the writer; <see cref="Finish"/> then throws <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="ArgumentException">A label or source is null or listed twice, or the format is <see cref="NnefArchiveFormat.Directory"/>.</exception>
    /// <exception cref="UnsupportedFeatureException">A weight the target cannot store (e.g. rank-3 Q4_0 for tract &lt;= 0.21.10).</exception>
    public static NnefArchiveWriter Start(FileStream destination, IReadOnlyList<KeyValuePair<string, TensorSource>> weights, NnefWriteOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(weights);
        options ??= new NnefWriteOptions();
        try
        {
            NnefArchive.CheckArchiveOptions(options);
            TractVersion target = options.TractVersion ?? TractVersion.Latest;
            var labels = new LabelPaths();
            var sources = new HashSet<TensorSource>(ReferenceEqualityComparer.Instance);
            var names = new HashSet<string>(StringComparer.Ordinal);
            var started = new DatMember[weights.Count];
            for (int i = 0; i < started.Length; i++)
            {
                (string label, TensorSource source) = weights[i];
                if (label is null || source is null || !names.Add(label) || !sources.Add(source))
                {
                    string what = label is null ? "label is null" : source is null ? "source is null" : "is listed twice";
                    throw new ArgumentException($"Weight {i} ({label}): {what}; an archive stores each payload once.", nameof(weights));
                }

                string safe = labels.Get(label);
                started[i] = new DatMember(safe + ".dat", source, WritePlan.HeaderFor(safe, source.DType, source.Shape, quantizedStorage: false, target));
            }

            var sink = new TarSink(destination, options.Format != NnefArchiveFormat.Tar, options.CompressionLevel, options.FlushToDisk);
            return new NnefArchiveWriter(started, options, target, sink, cancellation);
        }
        catch
        {
            destination.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Writes the rest of the archive for <paramref name="graph"/> (validated first): its <c>.dat</c> members that were
    /// not started, <c>graph.nnef</c> and <c>graph.quant</c>, once the started members are written, and completes it.
    /// </summary>
    /// <exception cref="ArgumentException">A started member is not a variable of <paramref name="graph"/> (label, source and header), or the graph's target version is not the one the started headers were made for.</exception>
    /// <exception cref="InvalidOperationException">Called twice, or after <see cref="Dispose"/>.</exception>
    /// <exception cref="OperationCanceledException">The token given to <see cref="Start"/> was cancelled.</exception>
    public void Finish(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _finished, 1) != 0)
        {
            throw new InvalidOperationException("This archive was already finished; an archive writer writes one graph.");
        }

        try
        {
            // Planned and formatted on this thread while the writer thread is still storing the started members.
            GraphValidator.Validate(graph);
            TractVersion target = NnefArchive.TargetVersionOf(graph, _options.TractVersion);
            if (target != _target)
            {
                throw new ArgumentException($"The graph targets tract {target}, but the started members were written for {_target}; give the same TractVersion to Start.", nameof(graph));
            }

            WritePlan plan = WritePlan.Create(graph, target);
            List<DatMember> rest = Remaining(plan);
            _ = plan.GraphText;
            _ = plan.QuantText;

            if (_writer is null)
            {
                WriteStarted();
            }

            _writer?.Join();
            _writerError?.Throw();
            _stop.Token.ThrowIfCancellationRequested();

            // The members the graph adds, as NnefArchive.WriteArchive would produce them (the same stored-block boundaries).
            using SourcePrefetcher? prefetched = NnefArchive.Prefetch(rest, _options.MaxDegreeOfParallelism, ahead: rest.Count > 0 && plan.Dats.Count > 1, _stop.Token);
            NnefArchive.WriteDats(_sink, rest, prefetched, _options.Progress);
            NnefArchive.WriteTexts(plan, _sink);
            _sink.Complete();
        }
        finally
        {
            Dispose();
        }
    }

    /// <summary>Stops the workers and the writer thread (when still running), waits for them and closes the destination.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        // Cancelling wakes the writer thread (and the workers) wherever they wait; the prefetcher returns its buffers
        // only once the writer thread, which may be draining one, has stopped.
        _disposed = true;
        _stop.Cancel();
        _writer?.Join();
        _prefetcher?.Dispose();
        _sink.Dispose();
        _stop.Dispose();
    }

    // The plan's members that were not started, in plan order; every started one must be in the plan as it was made.
    private List<DatMember> Remaining(WritePlan plan)
    {
        var byPath = new Dictionary<string, DatMember>(StringComparer.Ordinal);
        foreach (DatMember dat in plan.Dats)
        {
            byPath[dat.Path] = dat;
        }

        var startedPaths = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < _started.Length; i++)
        {
            DatMember s = _started[i];
            string? why = !byPath.TryGetValue(s.Path, out DatMember? planned) ? "the graph has no variable with this label"
                : !ReferenceEquals(planned.Source, s.Source) ? "the graph's variable with this label holds another source"
                : planned.Header != s.Header ? $"the graph stores it with another .dat header ({planned.Header.DType}, item type 0x{planned.Header.ItemType:X4}; started as {s.Header.DType}, 0x{s.Header.ItemType:X4})"
                : null;
            if (why is not null)
            {
                throw new ArgumentException($"Started member {i} of {_started.Length} ({s.Path}): {why}. Start the archive with the graph's variables (label and source).", nameof(plan));
            }

            startedPaths.Add(s.Path);
        }

        return [.. plan.Dats.Where(d => !startedPaths.Contains(d.Path))];
    }

    private void WriteStarted()
    {
        try
        {
            NnefArchive.WriteDats(_sink, [.. _started], _prefetcher, _options.Progress, _stop.Token);
        }
        catch (Exception e)
        {
            _writerError = ExceptionDispatchInfo.Capture(e);
            _stop.Cancel();
        }
    }
}
