using System.Runtime;

namespace TorchToNnef.Cli;

/// <summary>
/// Keeps the garbage collector out of the single-threaded start of a long command. Before <c>export-llm</c> reads its
/// first weight it builds the decoder graph, its types, the archive plan and the graph text on one core, about
/// 10 MB of short- and long-lived objects for a 1.1B model; with the default gen0 budget on this class of machine that
/// was 3-4 collections, each promoting and compacting the whole graph into fresh memory (7-17 ms apiece under perf,
/// mostly page faults: bench/README.md, "Serial start of export-llm"). A no-GC region sized for that phase removes
/// them; when the weights have used up its budget the runtime collects and leaves the region by itself, so the
/// rest of the run (and the verification) is collected as usual. A CLI choice only: the library never touches GC modes.
/// </summary>
internal sealed class SerialPhaseGc : IDisposable
{
    /// <summary>Room for the serial phase of a large decoder with margin (SOH and LOH together).</summary>
    internal const long Budget = 48L << 20;

    private readonly bool _started;

    private SerialPhaseGc(bool started) => _started = started;

    /// <summary>
    /// Enters a no-GC region of <see cref="Budget"/> bytes when the runtime grants it without a full blocking collection
    /// (entering costs one collection of the young heap, which holds little more than the parsed command line); when it
    /// refuses, nothing changes.
    /// </summary>
    public static SerialPhaseGc Start()
    {
        try
        {
            return new SerialPhaseGc(GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(Budget, disallowFullBlockingGC: true));
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
        {
            // A heap configured smaller than the budget (GCHeapHardLimit), or a region already open: run without.
            return new SerialPhaseGc(false);
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
