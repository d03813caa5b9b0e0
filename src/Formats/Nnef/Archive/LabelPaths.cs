using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>
/// Turns variable labels (names that come from models) into labels whose <c>&lt;label&gt;.dat</c> path is safe:
/// relative, no <c>..</c>, no component starting with <c>.</c> (tract would silently ignore it), no backslash,
/// NUL, control or Windows-reserved character, components of at most 200 UTF-8 bytes, and unique even on
/// case-insensitive file systems. <c>/</c> stays a folder separator, as in tract. Deterministic: the same labels
/// in the same order give the same result; labels that are already safe are kept unchanged.
/// </summary>
public sealed class LabelPaths
{
    private const int MaxComponentBytes = 200;

    private readonly Dictionary<string, string> _byLabel = new(StringComparer.Ordinal);
    private readonly HashSet<string> _taken = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The safe label for <paramref name="label"/> (the same one each time it is asked).</summary>
    public string Get(string label)
    {
        if (_byLabel.TryGetValue(label, out string? safe))
        {
            return safe;
        }

        string candidate = Sanitize(label);
        string unique = candidate;
        for (int k = 1; !_taken.Add(unique); k++)
        {
            unique = candidate + "_" + k.ToString(CultureInfo.InvariantCulture);
        }

        _byLabel[label] = unique;
        return unique;
    }

    /// <summary>The sanitized form of one label, before the uniqueness suffix.</summary>
    public static string Sanitize(string label)
    {
        var parts = new List<string>();
        foreach (string raw in label.Split('/'))
        {
            if (raw.Length == 0)
            {
                continue;
            }

            var sb = new StringBuilder(raw.Length);
            foreach (char c in raw)
            {
                sb.Append(char.IsControl(c) || c is '\\' or '<' or '>' or ':' or '"' or '|' or '?' or '*' ? '_' : c);
            }

            string part = sb.ToString();
            if (part.StartsWith('.'))
            {
                part = "_" + part[1..];
            }

            // Windows drops trailing dots and spaces from names; keep the path the same everywhere.
            if (part.EndsWith('.') || part.EndsWith(' '))
            {
                part += "_";
            }

            parts.Add(Shorten(part));
        }

        return parts.Count == 0 ? "_" : string.Join('/', parts);
    }

    private static string Shorten(string part)
    {
        // Leave room for ".dat" and a uniqueness suffix in the last component.
        if (Encoding.UTF8.GetByteCount(part) <= MaxComponentBytes)
        {
            return part;
        }

        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(part)))[..8];
        var sb = new StringBuilder();
        int bytes = 0;
        foreach (Rune r in part.EnumerateRunes())
        {
            bytes += r.Utf8SequenceLength;
            if (bytes > MaxComponentBytes - 9)
            {
                break;
            }

            sb.Append(r.ToString());
        }

        return sb.Append('_').Append(hash).ToString();
    }
}
