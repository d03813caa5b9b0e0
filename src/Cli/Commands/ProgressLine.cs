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

    /// <summary>A progress line on <paramref name="stderr"/> when it is the interactive console and <paramref name="worthIt"/>.</summary>
    public static ProgressLine? ForConsole(TextWriter stderr, bool worthIt)
    {
        TextWriter raw = TerminalWriter.Unwrap(stderr);
        return worthIt && ReferenceEquals(raw, Console.Error) && !Console.IsErrorRedirected ? new ProgressLine(raw) : null;
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
}
