using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace TorchToNnef.IO;

/// <summary>
/// Gives arbitrary names (tensor names read from files) file names in one flat folder: every name gets its own
/// file, whatever it contains. A file name is the name with <c>/</c>, <c>\</c>, NUL, control and bidi-override
/// characters and the characters Windows forbids replaced by <c>_</c>, other non-ASCII characters written as
/// <c>%XX</c> UTF-8 bytes, a leading <c>.</c> made <c>_</c> (no hidden files, no <c>.</c>/<c>..</c>), trailing dots
/// and spaces kept visible, Windows device names (<c>con</c>, <c>nul</c>, ...) prefixed with <c>_</c>, and at most
/// 200 bytes before the extension (longer names keep their start and get 8 hex digits of the SHA-256 of the full
/// name). File names are ASCII, so no file system can merge two of them by Unicode normalization (APFS, HFS+) or
/// case folding tables (NTFS); uniqueness is decided after sanitizing, ignoring ASCII case (as case-insensitive file
/// systems do), and a name that is taken gets the first free <c>_2</c>, <c>_3</c>, ... suffix. The same names in the
/// same order always give the same files.
/// </summary>
internal sealed class FlatFileNames
{
    /// <summary>Longest stem in UTF-8 bytes, leaving room for a suffix and the extension within 255 bytes.</summary>
    public const int MaxStemBytes = 200;

    private static readonly HashSet<string> WindowsDevices = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
        "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    };

    private readonly string _extension;
    private readonly Dictionary<string, string> _byName = new(StringComparer.Ordinal);
    private readonly HashSet<string> _taken = new(StringComparer.Ordinal);

    /// <summary>Creates an allocator for files ending in <paramref name="extension"/> (e.g. <c>.dat</c>).</summary>
    public FlatFileNames(string extension)
    {
        if (string.IsNullOrEmpty(extension) || extension[0] != '.' || Sanitize(extension[1..]) != extension[1..])
        {
            throw new ArgumentException($"'{extension}' is not a plain file extension.", nameof(extension));
        }

        _extension = extension;
    }

    /// <summary>The file name for <paramref name="name"/> (the same one each time it is asked).</summary>
    public string Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_byName.TryGetValue(name, out string? file))
        {
            return file;
        }

        string stem = Stem(name);
        string unique = stem;
        for (int k = 2; !_taken.Add(Key(unique)); k++)
        {
            unique = stem + "_" + k.ToString(CultureInfo.InvariantCulture);
        }

        file = unique + _extension;
        _byName[name] = file;
        return file;
    }

    /// <summary>True when <paramref name="name"/> got the file name it would have with no changes at all.</summary>
    public bool IsVerbatim(string name) => Get(name) == name + _extension;

    private static string Key(string stem) => stem.ToUpperInvariant();

    private static string Stem(string name)
    {
        string stem = Sanitize(name);
        if (stem.Length == 0)
        {
            stem = "_";
        }

        if (stem[0] == '.')
        {
            stem = "_" + stem[1..];
        }

        if (stem[^1] is '.' or ' ')
        {
            stem += "_";
        }

        int dot = stem.IndexOf('.', StringComparison.Ordinal);
        if (WindowsDevices.Contains((dot < 0 ? stem : stem[..dot]).TrimEnd(' ')))
        {
            stem = "_" + stem;
        }

        return stem.Length <= MaxStemBytes ? stem : Shorten(stem, name);
    }

    private static string Sanitize(string name)
    {
        var sb = new StringBuilder(name.Length);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsHighSurrogate(c) && i + 1 < name.Length && char.IsLowSurrogate(name[i + 1]))
            {
                AppendUtf8(sb, name.AsSpan(i++, 2));
            }
            else if (TerminalText.NeedsEscape(c) || c is '/' or '\\' or '<' or '>' or ':' or '"' or '|' or '?' or '*')
            {
                sb.Append('_');
            }
            else if (char.IsAscii(c))
            {
                sb.Append(c);
            }
            else
            {
                AppendUtf8(sb, new ReadOnlySpan<char>(in c));
            }
        }

        return sb.ToString();
    }

    private static void AppendUtf8(StringBuilder sb, ReadOnlySpan<char> chars)
    {
        Span<byte> utf8 = stackalloc byte[4];
        int n = Encoding.UTF8.GetBytes(chars, utf8);
        foreach (byte b in utf8[..n])
        {
            sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
    }

    private static string Shorten(string stem, string name)
    {
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..8];
        return stem[..(MaxStemBytes - 9)] + "_" + hash;
    }
}
