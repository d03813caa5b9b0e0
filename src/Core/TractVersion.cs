using System.Globalization;

namespace TorchToNnef;

/// <summary>
/// A tract release targeted by an export (major.minor.patch, compared numerically). Version-gated output —
/// the Q4_0 nibble order, operator choices, literal syntax — is decided from it in one place per feature.
/// </summary>
/// <param name="Major">Major version.</param>
/// <param name="Minor">Minor version.</param>
/// <param name="Patch">Patch version.</param>
public readonly record struct TractVersion(int Major, int Minor, int Patch) : IComparable<TractVersion>
{
    /// <summary>The latest version torch_to_nnef 0.20.1 officially supports, and its default target.</summary>
    public static TractVersion Latest => new(0, 22, 0);

    /// <summary>First version with the GGML Q4_0 nibble order (item type 0x3040).</summary>
    public static TractVersion Q40GgmlOrder => new(0, 21, 11);

    /// <summary>True when this version reads Q4_0 in the GGML nibble order natively.</summary>
    public bool UsesGgmlQ40Order => this >= Q40GgmlOrder;

    /// <summary>Parses <c>0.21.13</c> (a leading <c>v</c> and a pre-release suffix such as <c>-pre</c> are accepted).</summary>
    /// <exception cref="FormatException">Not a version.</exception>
    public static TractVersion Parse(string text) =>
        TryParse(text, out TractVersion v) ? v : throw new FormatException($"'{text}' is not a tract version (expected e.g. 0.22.0).");

    /// <summary>Parses without throwing.</summary>
    public static bool TryParse(string? text, out TractVersion version)
    {
        version = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string t = text.Trim();
        if (t.StartsWith('v'))
        {
            t = t[1..];
        }

        int dash = t.IndexOf('-', StringComparison.Ordinal);
        if (dash >= 0)
        {
            t = t[..dash];
        }

        string[] parts = t.Split('.');
        if (parts.Length != 3)
        {
            return false;
        }

        var n = new int[3];
        for (int i = 0; i < 3; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out n[i]))
            {
                return false;
            }
        }

        version = new TractVersion(n[0], n[1], n[2]);
        return true;
    }

    /// <inheritdoc />
    public int CompareTo(TractVersion other) =>
        Major != other.Major ? Major.CompareTo(other.Major)
        : Minor != other.Minor ? Minor.CompareTo(other.Minor)
        : Patch.CompareTo(other.Patch);

    /// <summary>Ordering.</summary>
    public static bool operator <(TractVersion a, TractVersion b) => a.CompareTo(b) < 0;

    /// <summary>Ordering.</summary>
    public static bool operator >(TractVersion a, TractVersion b) => a.CompareTo(b) > 0;

    /// <summary>Ordering.</summary>
    public static bool operator <=(TractVersion a, TractVersion b) => a.CompareTo(b) <= 0;

    /// <summary>Ordering.</summary>
    public static bool operator >=(TractVersion a, TractVersion b) => a.CompareTo(b) >= 0;

    /// <summary>Formats as <c>0.22.0</c>.</summary>
    public override string ToString() => $"{Major}.{Minor}.{Patch}";
}
