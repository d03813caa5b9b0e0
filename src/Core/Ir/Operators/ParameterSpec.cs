using System.Globalization;

namespace TorchToNnef.Ir;

/// <summary>
/// Parses the compact declarations the catalog is written in: <c>input: tensor, axes: integer[], normalize: logical = false</c>.
/// A <c>?</c> after a name marks an optional parameter without default, a leading <c>@</c> a named-only one. Kinds:
/// <c>tensor</c>, <c>tensor[]</c>, <c>integer</c>, <c>integer[]</c>, <c>scalar</c>, <c>logical</c>, <c>string</c>,
/// <c>pairs</c>, <c>any</c>; defaults are NNEF literals (<c>1</c>, <c>0.0</c>, <c>'constant'</c>, <c>[]</c>, <c>true</c>).
/// </summary>
internal static class ParameterSpec
{
    public static List<OperatorParameter> Parse(string spec)
    {
        var result = new List<OperatorParameter>();
        foreach (string item in SplitTopLevel(spec))
        {
            if (item.Length == 0)
            {
                continue;
            }

            int eq = item.IndexOf('=', StringComparison.Ordinal);
            string head = eq < 0 ? item : item[..eq].Trim();
            Arg? def = eq < 0 ? null : ParseLiteral(item[(eq + 1)..].Trim());
            int colon = head.IndexOf(':', StringComparison.Ordinal);
            string name = (colon < 0 ? head : head[..colon]).Trim();
            ParameterKind kind = colon < 0 ? ParameterKind.Tensor : KindOf(head[(colon + 1)..].Trim());
            bool namedOnly = name.StartsWith('@');
            bool optional = name.EndsWith('?');
            name = name.TrimStart('@').TrimEnd('?');
            result.Add(new OperatorParameter(name, kind, def) { Optional = optional, NamedOnly = namedOnly });
        }

        return result;
    }

    public static Arg ParseLiteral(string text)
    {
        if (text.StartsWith('[') || text.StartsWith('('))
        {
            List<Arg> items = [.. SplitTopLevel(text[1..^1]).Where(s => s.Length > 0).Select(ParseLiteral)];
            return text[0] == '[' ? Arg.Array(items) : Arg.Tuple(items);
        }

        if (text.StartsWith('\''))
        {
            return Arg.String(text[1..^1]);
        }

        if (text is "true" or "false")
        {
            return Arg.Bool(text == "true");
        }

        return text.Contains('.', StringComparison.Ordinal) || text.Contains('e', StringComparison.Ordinal)
            ? Arg.Float(double.Parse(text, CultureInfo.InvariantCulture))
            : Arg.Int(long.Parse(text, CultureInfo.InvariantCulture));
    }

    private static ParameterKind KindOf(string kind) => kind switch
    {
        "tensor" => ParameterKind.Tensor,
        "tensor[]" => ParameterKind.TensorList,
        "integer" => ParameterKind.Integer,
        "integer[]" => ParameterKind.Integers,
        "scalar" => ParameterKind.Float,
        "logical" => ParameterKind.Logical,
        "string" => ParameterKind.String,
        "pairs" => ParameterKind.Pairs,
        "any" => ParameterKind.Any,
        _ => throw new ArgumentException($"Unknown parameter kind '{kind}'.", nameof(kind)),
    };

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        int depth = 0;
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c is '[' or '(')
            {
                depth++;
            }
            else if (c is ']' or ')')
            {
                depth--;
            }
            else if (c == ',' && depth == 0)
            {
                yield return text[start..i].Trim();
                start = i + 1;
            }
        }

        yield return text[start..].Trim();
    }
}
