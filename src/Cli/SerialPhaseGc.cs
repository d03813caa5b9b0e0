using System.Runtime;
using TorchToNnef.IO;

namespace TorchToNnef.Cli;

/// <summary>
/// Keeps the garbage collector out of the single-threaded start of a long command. Before <c>export-llm</c> reads its
/// first weight it builds the decoder graph, its types, the archive plan and the graph text on one core, about
/// 10 MB of short- and long-lived objects for a 1.1B model; with the default gen0 budget on this class of machine that
/// was 3-4 collections, each promoting and compacting the whole graph into fresh memory (7-17 ms apiece under perf,
/// mostly page faults: bench/README.md, "Serial start of export-llm"). A no-GC region sized for that phase removes
/// them; when the weights have used up its budget the runtime collects and leaves the region by itself, so the
/// rest of the run (and the verification) is collected as usual. A CLI choice only: the library never touches GC modes.
/// <para>
/// The region's young heap is also advised to use transparent huge pages (<see cref="HugePageAdvice"/>): the phase
/// touches ~13 MB of fresh heap, and in 4 KiB pages that was ~3,300 page faults (~40 ms of CPU on the benchmark
/// machine, where a fault costs ~12 µs: bench/README.md, "Huge pages for the prefetch pipe"). The GC hands out the
/// budget from the region it allocates in onwards, so the range advised starts at a fresh object; where the heap lies
/// elsewhere the hint only misses.
/// </para>
/// </summary>
internal sealed class SerialPhaseGc : IDisposable
{
    /// <summary>Room for the serial phase of a large decoder with margin (SOH and LOH together).</summary>
    internal const long Budget = 48L << 20;

    private readonly bool _started;
    private readonly int _collections = GC.CollectionCount(0);

    private SerialPhaseGc(bool started) => _started = started;

    /// <summary>Collections (of any generation) since the phase started: 0 while the region held.</summary>
    public int Collections => GC.CollectionCount(0) - _collections;

    /// <summary>
    /// Enters a no-GC region of <see cref="Budget"/> bytes when the runtime grants it without a full blocking collection
    /// (entering costs one collection of the young heap, which holds little more than the parsed command line); when it
    /// refuses, nothing changes.
    /// </summary>
    public static SerialPhaseGc Start()
    {
        try
        {
            bool started = GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(Budget, disallowFullBlockingGC: true);
            if (started)
            {
                AdviseYoungHeap();
            }

            return new SerialPhaseGc(started);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
        {
            // A heap configured smaller than the budget (GCHeapHardLimit), or a region already open: run without.
            return new SerialPhaseGc(false);
        }
    }

    // From a fresh object (the region's allocation point) over the budget and two more GC regions (4 MiB each) of margin.
    private static unsafe void AdviseYoungHeap()
    {
        byte[] probe = new byte[1];
        fixed (byte* p = probe)
        {
            HugePageAdvice.Advise(p, Budget + (8L << 20));
        }
    }

    /// <summary>Ends the region if it is still open (the runtime has usually ended it when the budget ran out).</summary>
    public void Dispose()
    {
        if (_started && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            try
            {
                GC.EndNoGCRegion();
            }
            catch (InvalidOperationException)
            {
                // The region ended on its own in the meantime (budget exhausted, or a collection was induced).
            }
        }
    }
}
