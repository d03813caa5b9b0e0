using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef.Archive;
using TorchToNnef.IO;
using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Nnef;

public static partial class NnefArchive
{
    /// <summary>
    /// Writes <paramref name="graph"/> as a tract-loadable archive: one <c>.dat</c> per label in graph order, each
    /// streamed from its source so memory stays bounded by one tensor, then <c>graph.nnef</c>, then <c>graph.quant</c>
    /// (when some value is quantized) — the reference tool's order; tract collects every member before loading, so
    /// the order does not matter to it, and a writer that starts the weights before the graph exists
    /// (<see cref="NnefArchiveWriter"/>) can only put the graph last. Labels are sanitized into safe relative paths (the written graph uses the
    /// sanitized labels). The graph is validated before anything is written. The result is built next to the
    /// destination under a hidden temporary name and moved into place only when complete; on failure or cancellation
    /// nothing is left behind. The same graph gives byte-identical output. A one-output <see cref="OutputTransaction"/>:
    /// <see cref="NnefWriteOptions.Overwrite"/> replaces only an NNEF archive or a folder holding nothing but an NNEF model.
    /// </summary>
    /// <param name="graph">The graph (not modified).</param>
    /// <param name="destination">A directory, or a <c>.nnef.tgz</c>/<c>.tar</c> file.</param>
    /// <param name="options">Target version, container, compression level, overwrite.</param>
    /// <param name="cancellation">Stops the write; what was written is removed.</param>
    /// <exception cref="OutputRefusedException">The destination exists (without overwrite, or holding something else), or cannot be an output.</exception>
    /// <exception cref="InvalidGraphException">The graph is not well formed, a variable has no data, or two variables share a label with different data.</exception>
    /// <exception cref="UnsupportedFeatureException">Something the target cannot represent (bf16 data, rank-3 Q4_0 for tract &lt;= 0.21.10, ...).</exception>
    public static void Write(Graph graph, string destination, NnefWriteOptions? options = null, CancellationToken cancellation = default)
    {
        options ??= new NnefWriteOptions();
        using var transaction = new OutputTransaction(new OutputOptions { Overwrite = options.Overwrite }, cancellation);
        OutputTarget target = DeclareOutput(transaction, destination, options.Format);
        Write(graph, target, options);
        transaction.Commit();
    }

    /// <summary>
    /// Declares <paramref name="destination"/> as an NNEF output of <paramref name="transaction"/> (a folder, or an
    /// archive file as its name or <paramref name="format"/> says); refusals happen here, before anything is read or
    /// written. Write it with <see cref="Write(Graph, OutputTarget, NnefWriteOptions?)"/>.
    /// </summary>
    /// <exception cref="OutputRefusedException">The output policy refuses the path.</exception>
    public static OutputTarget DeclareOutput(OutputTransaction transaction, string destination, NnefArchiveFormat format = NnefArchiveFormat.Auto)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return transaction.AddOutput(destination, NnefOutputKinds.For(ResolveFormat(format, destination)));
    }

    /// <summary>
    /// Writes <paramref name="graph"/> into a declared output (see <see cref="DeclareOutput"/>); it is moved into
    /// place when its transaction commits. The graph is validated before anything is written.
    /// </summary>
    public static void Write(Graph graph, OutputTarget target, NnefWriteOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(target);
        options ??= new NnefWriteOptions();
        if (options.CompressionLevel is < 0 or > 9)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.CompressionLevel, "gzip compression level must be 0 to 9");
        }

        NnefArchiveFormat format = ResolveFormat(options.Format, target.Path);
        if ((format == NnefArchiveFormat.Directory) != target.Kind.IsDirectory)
        {
            throw new ArgumentException($"{target.Path} was declared as {target.Kind.Description}, not as a {format} output.", nameof(target));
        }

        GraphValidator.Validate(graph);
        WritePlan plan = WritePlan.Create(graph, TargetVersionOf(graph, options.TractVersion));
        if (format == NnefArchiveFormat.Directory)
        {
            using var sink = new DirectorySink(target.CreateFileIn);
            WriteMembers(plan, sink, options, target.Cancellation);
        }
        else
        {
            using var sink = new TarSink(target.CreateFile(), format == NnefArchiveFormat.Tgz, options.CompressionLevel, options.FlushToDisk);
            WriteMembers(plan, sink, options, target.Cancellation);
        }
    }

    /// <summary>
    /// Writes <paramref name="graph"/> as a <c>.tgz</c> (or, with <see cref="NnefArchiveFormat.Tar"/>, a plain tar) into
    /// <paramref name="destination"/>: a new, empty file created by an <see cref="OutputTransaction"/>, typically an
    /// archive inside a folder output (<see cref="OutputTarget.CreateFileIn"/>), which is moved into place with its
    /// folder. The stream is disposed. The graph is validated before anything is written.
    /// </summary>
    /// <exception cref="ArgumentException"><see cref="NnefWriteOptions.Format"/> is <see cref="NnefArchiveFormat.Directory"/>.</exception>
    public static void WriteArchive(Graph graph, FileStream destination, NnefWriteOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(destination);
        options ??= new NnefWriteOptions();
        using (destination)
        {
            CheckArchiveOptions(options);
            GraphValidator.Validate(graph);
            WritePlan plan = WritePlan.Create(graph, TargetVersionOf(graph, options.TractVersion));
            using var sink = new TarSink(destination, options.Format != NnefArchiveFormat.Tar, options.CompressionLevel, options.FlushToDisk);
            WriteMembers(plan, sink, options, CancellationToken.None);
        }
    }

    /// <summary>
    /// The tract release a graph is written for: <paramref name="requested"/> when given, else the graph's
    /// <c>tract_target_version</c> property when it parses, else <see cref="TractVersion.Latest"/>.
    /// </summary>
    public static TractVersion TargetVersionOf(Graph graph, TractVersion? requested = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return requested
            ?? (TractVersion.TryParse(graph.GetProperty("tract_target_version"), out TractVersion v) ? v : TractVersion.Latest);
    }

    /// <summary>
    /// The payloads of <paramref name="dats"/> produced ahead of the writer, in order, by <paramref name="threads"/>
    /// workers with at most two sources per worker in flight; null (each payload produced by the writer as it writes it)
    /// with one thread or when <paramref name="ahead"/> is false.
    /// </summary>
    internal static SourcePrefetcher? Prefetch(IEnumerable<DatMember> dats, int threads, bool ahead, CancellationToken cancellation) =>
        threads > 1 && ahead ? new SourcePrefetcher([.. dats.Select(d => d.Source)], threads, 2 * threads, cancellation: cancellation) : null;

    /// <summary>The checks of an archive (not directory) write's options.</summary>
    internal static void CheckArchiveOptions(NnefWriteOptions options)
    {
        if (options.Format == NnefArchiveFormat.Directory)
        {
            throw new ArgumentException("A stream holds a tar or .tgz archive, not a directory.", nameof(options));
        }

        if (options.CompressionLevel is < 0 or > 9)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.CompressionLevel, "gzip compression level must be 0 to 9");
        }
    }

    /// <summary><c>graph.nnef</c>, then <c>graph.quant</c> when some value is quantized: the last members of an archive.</summary>
    internal static void WriteTexts(WritePlan plan, ArchiveSink sink)
    {
        sink.WriteText("graph.nnef", plan.GraphText);
        if (plan.QuantText is not null)
        {
            sink.WriteText("graph.quant", plan.QuantText);
        }
    }

    // The .dat members in order, then the texts. With several threads the payloads are produced ahead of the writer.
    private static void WriteMembers(WritePlan plan, ArchiveSink sink, NnefWriteOptions options, CancellationToken cancellation)
    {
        using SourcePrefetcher? prefetched = Prefetch(plan.Dats, options.MaxDegreeOfParallelism, ahead: plan.Dats.Count > 1, cancellation);
        WriteDats(sink, plan.Dats, prefetched, options.Progress);
        WriteTexts(plan, sink);
        sink.Complete();
    }

    /// <summary>
    /// Writes <paramref name="dats"/> in order, each payload taken from <paramref name="prefetched"/> (produced ahead, in
    /// the same order) when given, else from its source, with progress reports; <paramref name="stop"/> is checked
    /// before each member.
    /// </summary>
    internal static void WriteDats(ArchiveSink sink, List<DatMember> dats, SourcePrefetcher? prefetched, IProgress<NnefWriteProgress>? reports, CancellationToken stop = default)
    {
        var progress = new WriteProgress(reports, dats);
        for (int i = 0; i < dats.Count; i++)
        {
            stop.ThrowIfCancellationRequested();
            DatMember dat = dats[i];
            progress.Begin(dat);
            sink.WriteDat(dat, prefetched?[i] ?? dat.Source, progress.OnBytes);
            progress.End();
        }
    }

    /// <summary>Turns bytes written into <see cref="NnefWriteProgress"/> reports.</summary>
    private sealed class WriteProgress(IProgress<NnefWriteProgress>? sink, List<DatMember> dats)
    {
        private readonly long _total = dats.Sum(d => d.Header.DataSize);
        private DatMember? _current;
        private int _done;
        private long _before;
        private long _bytes;

        public Action<long>? OnBytes => sink is null ? null : Report;

        public void Begin(DatMember dat)
        {
            _current = dat;
            _before = _bytes;
        }

        public void End()
        {
            _done++;
            _bytes = _before + _current!.Header.DataSize;
            sink?.Report(new NnefWriteProgress(_current.Path, _done, dats.Count, _bytes, _total));
        }

        private void Report(long memberBytes)
        {
            _bytes = _before + Math.Max(0, memberBytes - DatHeader.Size);
            sink!.Report(new NnefWriteProgress(_current!.Path, _done, dats.Count, _bytes, _total));
        }
    }

    private static NnefArchiveFormat ResolveFormat(NnefArchiveFormat format, string destination)
    {
        if (format != NnefArchiveFormat.Auto)
        {
            return format;
        }

        string name = destination.TrimEnd('/', '\\');
        return name.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase)
            ? NnefArchiveFormat.Tgz
            : name.EndsWith(".tar", StringComparison.OrdinalIgnoreCase) ? NnefArchiveFormat.Tar : NnefArchiveFormat.Directory;
    }
}
