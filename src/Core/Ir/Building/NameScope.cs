using System.Text;

namespace TorchToNnef.Ir;

/// <summary>
/// Identifiers in use in one body, and fresh ones derived from a hint: the hint made a valid NNEF identifier
/// (invalid characters become <c>_</c>), then <c>hint_1</c>, <c>hint_2</c>, ... until unused.
/// </summary>
internal sealed class NameScope
{
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "true", "false", "inf", "if", "else", "for", "in", "yield", "graph", "fragment", "version", "extension",
        "tensor", "integer", "scalar", "logical", "string",
    };

    private static readonly System.Buffers.SearchValues<char> IdentifierChars =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");

    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public bool IsUsed(string name) => _used.Contains(name);

    public void Reserve(string name) => _used.Add(name);

    /// <summary>Takes <paramref name="name"/> exactly; false when it is taken or not an identifier.</summary>
    public bool TryTake(string name) => IsIdentifier(name) && _used.Add(name);

    /// <summary>Frees a name taken by <see cref="Fresh"/> that is about to be taken again by the value it was chosen for.</summary>
    public void Release(string name) => _used.Remove(name);

    /// <summary>A fresh identifier derived from <paramref name="hint"/>, now reserved.</summary>
    public string Fresh(string hint)
    {
        string baseName = Sanitize(hint);
        if (_used.Add(baseName))
        {
            return baseName;
        }

        for (int k = 1; ; k++)
        {
            string candidate = $"{baseName}_{k}";
            if (_used.Add(candidate))
            {
                return candidate;
            }
        }
    }

    public static bool IsIdentifier(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') && !Reserved.Contains(name);

    private static string Sanitize(string hint)
    {
        // Builders pass valid identifiers nearly always: keep the string itself then.
        if (hint.Length > 0 && !char.IsAsciiDigit(hint[0]) && !hint.AsSpan().ContainsAnyExcept(IdentifierChars))
        {
            return Reserved.Contains(hint) ? hint + "_" : hint;
        }

        var sb = new StringBuilder(hint.Length + 1);
        foreach (char c in hint)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        if (sb.Length == 0 || char.IsAsciiDigit(sb[0]))
        {
            sb.Insert(0, 'v');
        }

        string s = sb.ToString();
        return Reserved.Contains(s) ? s + "_" : s;
    }
}
