using System.Globalization;
using TorchToNnef.Ir;

namespace TorchToNnef.Export.Evaluation;

/// <summary>Implementation of a built-in operator.</summary>
internal delegate Operand OpImpl(Invocation invocation);

/// <summary>How tract resolves an operator name inside one registry (primitives win over fragments).</summary>
internal enum OpKind
{
    /// <summary>A primitive with its own deserializer (conv, slice, tract_core_gather, ...).</summary>
    Primitive,
    /// <summary>A one-input element-wise operator reading its argument by position.</summary>
    UnitElementWise,
    /// <summary>A binary operator with tract's operand typing and trailing-axis broadcasting.</summary>
    Binary,
    /// <summary>A fragment whose body is run (tract's stdlib text).</summary>
    Fragment,
}

/// <summary>One operator known to a registry.</summary>
internal sealed record OpDefinition(string Name, OpKind Kind, IReadOnlyList<FragmentParameter> Parameters, OpImpl? Impl, Fragment? Body);

/// <summary>
/// A table of operators, as one tract registry (<c>tract_nnef</c>, always active, or <c>tract_core</c>, active with
/// <c>extension tract_registry tract_core</c>). Each operator lives in an <c>Ops/*.cs</c> file that registers itself.
/// </summary>
internal sealed class OpRegistry
{
    private readonly Dictionary<string, OpDefinition> _ops = new(StringComparer.Ordinal);

    public OpRegistry(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public bool TryGet(string op, out OpDefinition definition) => _ops.TryGetValue(op, out definition!);

    public IEnumerable<string> Names => _ops.Keys;

    /// <summary>Registers a primitive; <paramref name="parameters"/> is the declaration, e.g. <c>"input, axes, normalize = false"</c>.</summary>
    public void Primitive(string name, string parameters, OpImpl impl) =>
        _ops.Add(name, new OpDefinition(name, OpKind.Primitive, ParseParameters(parameters), impl, null));

    public void UnitElementWise(string name, OpImpl impl) =>
        _ops.Add(name, new OpDefinition(name, OpKind.UnitElementWise, ParseParameters("x"), impl, null));

    public void Binary(string name, OpImpl impl) =>
        _ops.Add(name, new OpDefinition(name, OpKind.Binary, ParseParameters("x, y"), impl, null));

    public void Fragment(Fragment fragment) =>
        _ops.Add(fragment.Name, new OpDefinition(fragment.Name, OpKind.Fragment, fragment.Parameters, null, fragment));

    /// <summary>Parses <c>name</c> or <c>name = literal</c> items separated by top-level commas.</summary>
    internal static List<FragmentParameter> ParseParameters(string spec)
    {
        var result = new List<FragmentParameter>();
        foreach (string item in SplitTopLevel(spec))
        {
            if (item.Length == 0)
            {
                continue;
            }

            int eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                result.Add(new FragmentParameter(item, "tensor<scalar>"));
            }
            else
            {
                result.Add(new FragmentParameter(item[..eq].Trim(), "tensor<scalar>", ParseLiteral(item[(eq + 1)..].Trim())));
            }
        }

        return result;
    }

    internal static Arg ParseLiteral(string text)
    {
        if (text.StartsWith('[') || text.StartsWith('('))
        {
            List<Arg> items = SplitTopLevel(text[1..^1]).Where(s => s.Length > 0).Select(ParseLiteral).ToList();
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

        return text.Contains('.', StringComparison.Ordinal)
            ? Arg.Float(double.Parse(text, CultureInfo.InvariantCulture))
            : Arg.Int(long.Parse(text, CultureInfo.InvariantCulture));
    }

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
