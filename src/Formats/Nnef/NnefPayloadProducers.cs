using TorchToNnef.Formats.Nnef.Archive;
using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Nnef;

/// <summary>
/// The payloads of an archive's <c>.dat</c> members, produced on worker threads from before the graph that holds them
/// is built: a caller that knows its large tensors early (an LLM exporter knows every weight from its weight plan)
/// starts reading, converting and quantizing them while it builds, types and plans the graph on its own thread, then
/// hands them to <see cref="NnefArchive.WriteArchive(Graph, FileStream, NnefWriteOptions?, NnefPayloadProducers?)"/>.
/// Memory stays bounded as in the writer's own producers (a few MiB per thread, whatever the model's size).
/// <para>
/// The sources must be given in the order the archive stores them: the writer checks, before writing anything, that
/// they are exactly the sources of some of its <c>.dat</c> members, in member order (other members, e.g. small
/// constants the graph builder made, are produced by the writer itself), and throws otherwise. One writer consumes
/// them, once. Dispose (also on failure, before the write) stops the workers and returns their buffers; cancelling
/// the token given to <see cref="Start"/> does the same and makes the writer throw.
/// </para>
/// </summary>
public sealed class NnefPayloadProducers : IDisposable
{
    private readonly TensorSource[] _sources;
    private readonly SourcePrefetcher? _prefetcher;
    private int _claimed;

    private NnefPayloadProducers(TensorSource[] sources, SourcePrefetcher? prefetcher)
    {
        _sources = sources;
        _prefetcher = prefetcher;
    }

    /// <summary>Number of sources.</summary>
    public int Count => _sources.Length;

    /// <summary>
    /// True when worker threads produce the payloads; false with one thread (<see cref="NnefWriteOptions.MaxDegreeOfParallelism"/>
    /// 1, or fewer than two sources), where the writer produces each in turn on its own thread, as it would without these.
    /// </summary>
    public bool Running => _prefetcher is not null;

    /// <summary>
    /// Starts producing <paramref name="sources"/> with <see cref="NnefWriteOptions.MaxDegreeOfParallelism"/> of
    /// <paramref name="options"/> threads (the writer's own setting: pass the options the archive will be written with).
    /// </summary>
    /// <param name="sources">Payload sources in the order the archive will store them, each once.</param>
    /// <param name="options">Write options (threads).</param>
    /// <param name="cancellation">Stops the workers; the writer then throws <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="ArgumentException">A source is null or listed twice.</exception>
    public static NnefPayloadProducers Start(IReadOnlyList<TensorSource> sources, NnefWriteOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(sources);
        options ??= new NnefWriteOptions();
        TensorSource[] list = [.. sources];
        var seen = new HashSet<TensorSource>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < list.Length; i++)
        {
            if (list[i] is null || !seen.Add(list[i]))
            {
                throw new ArgumentException($"Source {i} is {(list[i] is null ? "null" : "listed twice")}; an archive stores each payload once.", nameof(sources));
            }
        }

        int threads = options.MaxDegreeOfParallelism;
        SourcePrefetcher? prefetcher = threads > 1 && list.Length > 1
            ? new SourcePrefetcher(list, threads, NnefArchive.PrefetchDepth(threads), cancellation: cancellation)
            : null;
        return new NnefPayloadProducers(list, prefetcher);
    }

    /// <summary>Stops the workers (those still producing exit at their next write), waits for them and returns their buffers.</summary>
    public void Dispose() => _prefetcher?.Dispose();

    /// <summary>
    /// For each of <paramref name="dats"/>, the index of the started source that produces it, or -1 where the writer
    /// produces the member itself. Claims these producers for one writer.
    /// </summary>
    /// <exception cref="ArgumentException">The started sources are not the sources of members in member order.</exception>
    /// <exception cref="InvalidOperationException">Another write already consumed them.</exception>
    internal int[] Claim(IReadOnlyList<DatMember> dats)
    {
        if (Interlocked.Exchange(ref _claimed, 1) != 0)
        {
            throw new InvalidOperationException("These payload producers were already given to an archive writer; each set is written once.");
        }

        int[] slots = new int[dats.Count];
        int next = 0;
        for (int i = 0; i < dats.Count; i++)
        {
            slots[i] = next < _sources.Length && ReferenceEquals(dats[i].Source, _sources[next]) ? next++ : -1;
        }

        if (next != _sources.Length)
        {
            int stored = -1;
            for (int i = 0; i < dats.Count && stored < 0; i++)
            {
                stored = ReferenceEquals(dats[i].Source, _sources[next]) ? i : -1;
            }

            string where = stored < 0
                ? "is not the payload of any member"
                : $"is the payload of member {stored} ({dats[stored].Path}), which comes before the members of earlier started sources";
            throw new ArgumentException(
                $"The started payload producers do not follow the archive's member order: started source {next} of {_sources.Length} {where}. Start them in the order the graph's variables appear.",
                nameof(dats));
        }

        return slots;
    }

    /// <summary>The consumer's view of started source <paramref name="index"/> (written in order, each once).</summary>
    internal TensorSource Produced(int index) => _prefetcher?[index] ?? _sources[index];
}
