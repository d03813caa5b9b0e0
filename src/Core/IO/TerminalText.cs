using System.Globalization;
using System.Text;

namespace TorchToNnef.IO;

/// <summary>
/// Makes text read from files safe to print on a terminal. Names in models are arbitrary strings: an ESC starts a
/// terminal control sequence (clear the screen, set the title, rewrite earlier lines), CR and LF forge lines, NUL and
/// DEL confuse pagers, C1 controls (U+0080–U+009F, e.g. U+009B, a one-character CSI) act like ESC sequences on some
/// terminals, and bidirectional overrides reorder what is displayed. Each of these is replaced by a visible escape
/// (<c>\x1b</c>, <c>\r</c>, <c>\n</c>, <c>\0</c>, <c>\u202e</c>); everything else, including non-ASCII letters, is kept.
/// </summary>
public static class TerminalText
{
    /// <summary>True when <paramref name="c"/> must not reach a terminal raw.</summary>
    public static bool NeedsEscape(char c) =>
        char.IsControl(c) || IsBidiControl(c) || char.IsSurrogate(c);

    /// <summary><paramref name="text"/> with every control, bidi-override and lone-surrogate character escaped.</summary>
    public static string Escape(string? text) => Escape(text, keepLineFeeds: false);

    /// <summary>
    /// As <see cref="Escape(string?)"/>; with <paramref name="keepLineFeeds"/> a line feed passes through (for whole
    /// messages of several lines that the program itself composed).
    /// </summary>
    public static string Escape(string? text, bool keepLineFeeds)
    {
        if (string.IsNullOrEmpty(text) || !NeedsAny(text, keepLineFeeds))
        {
            return text ?? string.Empty;
        }

        var sb = new StringBuilder(text.Length + 16);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]);
            }
            else if ((keepLineFeeds && c == '\n') || !NeedsEscape(c))
            {
                sb.Append(c);
            }
            else
            {
                AppendEscape(sb, c);
            }
        }

        return sb.ToString();
    }

    private static bool NeedsAny(string text, bool keepLineFeeds)
    {
        foreach (char c in text)
        {
            if (NeedsEscape(c) && !(keepLineFeeds && c == '\n'))
            {
                return true;
            }
        }

        return false;
    }

    private static void AppendEscape(StringBuilder sb, char c)
    {
        switch (c)
        {
            case '\0':
                sb.Append("\\0");
                break;
            case '\t':
                sb.Append("\\t");
                break;
            case '\n':
                sb.Append("\\n");
                break;
            case '\r':
                sb.Append("\\r");
                break;
            default:
                sb.Append(c < 0x100 ? "\\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture) : "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture));
                break;
        }
    }

    // LRE, RLE, PDF, LRO, RLO; LRI, RLI, FSI, PDI; LRM, RLM and ALM also reorder what a terminal shows.
    private static bool IsBidiControl(char c) =>
        c is (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069') or '\u200E' or '\u200F' or '\u061C';
}
