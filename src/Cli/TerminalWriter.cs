using System.Text;
using TorchToNnef.IO;

namespace TorchToNnef.Cli;

/// <summary>
/// The last line of defence against terminal injection: wraps stdout/stderr so that whatever a command prints, no
/// control character (ESC, CR, NUL, DEL, C1), bidi override or lone surrogate reaches the terminal raw; only the line
/// feeds that end lines pass. Commands also escape names themselves (<see cref="TerminalText.Escape(string?)"/>, which
/// escapes line feeds too, so a name cannot forge a line); this wrapper catches whatever they miss.
/// </summary>
internal sealed class TerminalWriter(TextWriter inner) : TextWriter
{
    /// <summary>The wrapped writer (for the progress line, which rewrites itself with a carriage return).</summary>
    public TextWriter Inner => inner;

    public override Encoding Encoding => inner.Encoding;

    public override IFormatProvider FormatProvider => inner.FormatProvider;

    /// <summary>The writer under <paramref name="writer"/> when it is a <see cref="TerminalWriter"/>, else itself.</summary>
    public static TextWriter Unwrap(TextWriter writer) => writer is TerminalWriter t ? t.Inner : writer;

    public override void Write(char value)
    {
        if (value == '\n' || char.IsSurrogate(value) || !TerminalText.NeedsEscape(value))
        {
            inner.Write(value);
        }
        else
        {
            inner.Write(TerminalText.Escape(value.ToString()));
        }
    }

    public override void Write(string? value) => inner.Write(TerminalText.Escape(value, keepLineFeeds: true));

    public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));

    public override void Write(ReadOnlySpan<char> buffer) => Write(new string(buffer));

    public override void WriteLine() => inner.WriteLine();

    public override void WriteLine(string? value) => inner.WriteLine(TerminalText.Escape(value, keepLineFeeds: true));

    public override void WriteLine(ReadOnlySpan<char> buffer) => WriteLine(new string(buffer));

    public override void WriteLine(char[] buffer, int index, int count) => WriteLine(new string(buffer, index, count));

    public override void WriteLine(object? value) => WriteLine(value?.ToString());

    public override void Flush() => inner.Flush();
}
