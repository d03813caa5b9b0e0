using TorchToNnef.IO;

namespace TorchToNnef.Export.Pipeline;

/// <summary>Turns the bytes written for each tensor, in order, into <see cref="PipelineProgress"/> reports.</summary>
/// <param name="sink">Receives the reports; when null, nothing is counted.</param>
/// <param name="payloadBytes">The payload size of each tensor, in the order they are written.</param>
internal sealed class ProgressCounter(IProgress<PipelineProgress>? sink, long[] payloadBytes)
{
    private readonly long _total = payloadBytes.Sum();
    private string _tensor = string.Empty;
    private int _done;
    private long _before;

    /// <summary>Starts the next tensor.</summary>
    public void Begin(string tensor)
    {
        _tensor = tensor;
        Report(_before);
    }

    /// <summary>
    /// <paramref name="file"/>, counting the payload written through it (a <c>.dat</c>'s header excluded) when
    /// progress is wanted.
    /// </summary>
    public Stream Counting(Stream file)
    {
        if (sink is null)
        {
            return file;
        }

        long before = _before;
        return new CountingStream(file, n => Report(before + Math.Max(0, n - Formats.Nnef.DatHeader.Size)));
    }

    /// <summary>Ends the current tensor.</summary>
    public void End()
    {
        _before += payloadBytes[_done];
        _done++;
        Report(_before);
    }

    private void Report(long bytes) => sink?.Report(new PipelineProgress(_tensor, _done, payloadBytes.Length, bytes, _total));
}
