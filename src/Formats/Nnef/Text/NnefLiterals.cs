using System.Globalization;
using System.Text;

namespace TorchToNnef.Formats.Nnef.Text;

/// <summary>
/// How literals are spelled in NNEF text: floats like Python's <c>repr(float)</c> (what torch_to_nnef prints),
/// strings quoted with tract's backslash escapes, identifiers checked against tract's grammar.
/// </summary>
public static class NnefLiterals
{
    private static readonly HashSet<string> ReservedWords = new(StringComparer.Ordinal)
    {
        "true", "false", "inf", "if", "else", "for", "in", "yield",
    };

    /// <summary>
    /// Python <c>repr(float)</c>: the shortest decimal that reads back as the same double; fixed notation when
    /// 1e-4 &lt;= |x| &lt; 1e16 (always with a <c>.</c>: <c>2.0</c>), else <c>1e-05</c> / <c>1.5e+16</c> style;
    /// <c>nan</c>, <c>inf</c>, <c>-inf</c>.
    /// </summary>
    public static string FormatFloat(double value) => Format(value, allowExponent: true);

    /// <summary>
    /// A float as a tract numeric literal that reads back as the same double: like <see cref="FormatFloat"/>, but
    /// large values are written in fixed notation when <paramref name="allowPositiveExponent"/> is false (tract before
    /// 0.23 cannot parse <c>e+</c>). Non-finite values have no literal form in tract.
    /// </summary>
    /// <exception cref="ArgumentException">NaN or an infinity.</exception>
    public static string FormatTractFloat(double value, bool allowPositiveExponent)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentException($"{value} has no tract literal form.", nameof(value));
        }

        return Format(value, allowPositiveExponent);
    }

    /// <summary>
    /// Quotes a string with <paramref name="quote"/>, escaping both quote kinds and the backslash as tract requires,
    /// and the character after a <c>{</c> when it would form a template delimiter (<c>{{</c>, <c>{%</c>, <c>{#</c>):
    /// tract &gt;= 0.22 runs the text through a template engine before parsing, and un-escapes <c>\x</c> to <c>x</c>.
    /// </summary>
    public static string QuoteString(string value, char quote = '\'')
    {
        var sb = new StringBuilder(value.Length + 2);
        sb.Append(quote);
        char previous = '\0';
        foreach (char c in value)
        {
            if (c is '\\' or '\'' or '"' || (previous == '{' && c is '{' or '%' or '#'))
            {
                sb.Append('\\');
            }

            sb.Append(c);
            previous = c;
        }

        return sb.Append(quote).ToString();
    }

    /// <summary>True for a name tract reads as a plain identifier (and not a literal or keyword).</summary>
    public static bool IsIdentifier(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return !ReservedWords.Contains(name);
    }

    private static string Format(double value, bool allowExponent)
    {
        if (double.IsNaN(value))
        {
            return "nan";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "inf" : "-inf";
        }

        string sign = double.IsNegative(value) ? "-" : string.Empty;
        if (value == 0)
        {
            return sign + "0.0";
        }

        (string digits, int decpt) = ShortestDigits(Math.Abs(value));
        bool useExponent = decpt <= -4 || decpt > 16;
        if (useExponent && (allowExponent || decpt <= -4))
        {
            int exp = decpt - 1;
            string mantissa = digits.Length == 1 ? digits : digits[..1] + "." + digits[1..];
            string e = Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
            return $"{sign}{mantissa}e{(exp < 0 ? '-' : '+')}{e}";
        }

        if (decpt <= 0)
        {
            return sign + "0." + new string('0', -decpt) + digits;
        }

        if (decpt < digits.Length)
        {
            return sign + digits[..decpt] + "." + digits[decpt..];
        }

        return sign + digits + new string('0', decpt - digits.Length) + ".0";
    }

    /// <summary>Shortest round-trip digits (no leading/trailing zeros) and the decimal point position: x = 0.d1d2... * 10^decpt.</summary>
    private static (string Digits, int DecimalPoint) ShortestDigits(double positive)
    {
        string r = positive.ToString("R", CultureInfo.InvariantCulture);
        int ePos = r.IndexOfAny(['E', 'e']);
        int exp = ePos < 0 ? 0 : int.Parse(r.AsSpan(ePos + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        string mantissa = ePos < 0 ? r : r[..ePos];
        int dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        string intPart = dot < 0 ? mantissa : mantissa[..dot];
        string fracPart = dot < 0 ? string.Empty : mantissa[(dot + 1)..];
        string all = intPart + fracPart;
        int leading = all.Length - all.TrimStart('0').Length;
        string digits = all.Trim('0');
        return (digits, intPart.Length + exp - leading);
    }
}
