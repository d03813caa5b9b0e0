using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Pipeline;

namespace TorchToNnef.Cli.Commands;

/// <summary>
/// A one-line progress display on an interactive terminal (stderr, rewritten in place with <c>\r</c>, at most a few
/// times a second). Never shown when stderr is redirected or is not the console, so logs and tests stay clean.
/// </summary>
internal sealed class ProgressLine : IDisposable
{
    private readonly TextWriter _writer;
    private long _lastTicks;
    private int _width;

    private ProgressLine(TextWriter writer) => _writer = writer;

    /// <summary>A progress line on <paramref name="stderr"/> when it is the interactive console.</summary>
    public static ProgressLine? ForConsole(TextWriter stderr)
    {
        TextWriter raw = TerminalWriter.Unwrap(stderr);
        return ReferenceEquals(raw, Console.Error) && !Console.IsErrorRedirected ? new ProgressLine(raw) : null;
    }

    /// <summary>Shows <paramref name="done"/> of <paramref name="total"/> bytes, throttled.</summary>
    public void Show(long done, long total, string what)
    {
        long now = Environment.TickCount64;
        if (now - _lastTicks < 200 && done < total)
        {
            return;
        }

        _lastTicks = now;
        int percent = total == 0 ? 100 : (int)(100 * done / total);
        string line = $"\r[{new string('#', percent / 5),-20}] {percent,3}% {IO.TerminalText.Escape(what)}";
        if (line.Length > 100)
        {
            line = line[..100];
        }

        _writer.Write(line.PadRight(_width));
        _width = line.Length;
    }

    /// <summary>
    /// A receiver of a pipeline's progress that shows it on this line, for runs that write at least
    /// <paramref name="minimumTotalBytes"/> (smaller runs end before a progress line would help).
    /// </summary>
    public IProgress<PipelineProgress> For(long minimumTotalBytes) => new Receiver(this, minimumTotalBytes);

    /// <summary>
    /// A receiver of an evaluation's progress (statements of the graph body) that shows it on this line once the run has
    /// lasted <paramref name="delay"/> (a quick run ends before a progress line would help).
    /// </summary>
    public IProgress<EvaluationProgress> ForEvaluation(TimeSpan delay) => new EvaluationReceiver(this, Environment.TickCount64 + (long)delay.TotalMilliseconds);

    /// <summary>Erases the line.</summary>
    public void Clear()
    {
        if (_width > 0)
        {
            _writer.Write("\r" + new string(' ', _width) + "\r");
            _width = 0;
        }
    }

    /// <inheritdoc />
    public void Dispose() => Clear();

    private sealed class EvaluationReceiver(ProgressLine line, long showAfterTicks) : IProgress<EvaluationProgress>
    {
        public void Report(EvaluationProgress value)
        {
            if (Environment.TickCount64 >= showAfterTicks)
            {
                line.Show(value.Statements, value.StatementCount, $"{value.Statements}/{value.StatementCount} {value.Node}");
            }
        }
    }

    private sealed class Receiver(ProgressLine line, long minimumTotalBytes) : IProgress<PipelineProgress>
    {
        public void Report(PipelineProgress value)
        {
            if (value.TotalBytes >= minimumTotalBytes)
            {
                line.Show(value.BytesDone, value.TotalBytes, value.Tensor);
            }
        }
    }
}
