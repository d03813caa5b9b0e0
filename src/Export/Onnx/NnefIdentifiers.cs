using System.Security.Cryptography;
using System.Text;

namespace TorchToNnef.Export.Onnx;

/// <summary>
/// Turns free-form names (ONNX values are named <c>onnx::Flatten_0</c>, <c>x.1</c>, <c>13</c>, <c>softmax_0.tmp_0</c>,
/// even a JSON text) into NNEF identifiers, deterministically: every character outside <c>[A-Za-z0-9_]</c> becomes
/// <c>_</c>, a name starting with a digit (or empty) gets a <c>v</c> prefix, a keyword a <c>_</c> suffix, and a name
/// longer than <see cref="MaxLength"/> keeps its start plus 8 hex digits of its SHA-256. Names already valid are kept.
/// <see cref="MakeUnique"/> then separates names that end up equal with <c>_2</c>, <c>_3</c>, ... in order.
/// </summary>
public static class NnefIdentifiers
{
    /// <summary>Longest identifier produced.</summary>
    public const int MaxLength = 64;

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "true", "false", "inf", "if", "else", "for", "in", "yield", "graph", "fragment", "version", "extension",
        "tensor", "integer", "scalar", "logical", "string",
    };

    /// <summary>True when <paramref name="name"/> is already a usable identifier.</summary>
    public static bool IsIdentifier(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Length is > 0 and <= MaxLength && (char.IsAsciiLetter(name[0]) || name[0] == '_')
            && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') && !Keywords.Contains(name);
    }

    /// <summary>The identifier for <paramref name="name"/> (itself when already one).</summary>
    public static string Sanitize(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (IsIdentifier(name))
        {
            return name;
        }

        var sb = new StringBuilder(name.Length + 1);
        foreach (char c in name)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        if (sb.Length == 0 || char.IsAsciiDigit(sb[0]))
        {
            sb.Insert(0, 'v');
        }

        string s = sb.ToString();
        if (s.Length > MaxLength)
        {
            string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..8];
            s = s[..(MaxLength - 9)] + "_" + hash;
        }

        return Keywords.Contains(s) ? s + "_" : s;
    }

    /// <summary>
    /// Identifiers for <paramref name="names"/>, in order: each sanitized, then made distinct from the earlier ones and
    /// from <paramref name="taken"/> with a <c>_2</c>, <c>_3</c>, ... suffix (compared exactly: NNEF is case-sensitive).
    /// </summary>
    public static IReadOnlyList<string> MakeUnique(IEnumerable<string> names, IEnumerable<string>? taken = null)
    {
        ArgumentNullException.ThrowIfNull(names);
        var used = new HashSet<string>(taken ?? [], StringComparer.Ordinal);
        var result = new List<string>();
        foreach (string name in names)
        {
            string baseName = Sanitize(name);
            string candidate = baseName;
            for (int k = 2; !used.Add(candidate); k++)
            {
                candidate = $"{baseName}_{k}";
            }

            result.Add(candidate);
        }

        return result;
    }
}
