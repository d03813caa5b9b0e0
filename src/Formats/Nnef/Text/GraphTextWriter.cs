using System.Globalization;
using System.Text;
using TorchToNnef.Errors;
using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Nnef.Text;

/// <summary>
/// Prints the IR as <c>graph.nnef</c> in torch_to_nnef's layout: <c>version 1.0;</c>, the extension lines
/// (registries, symbols, assertions, others), the <c>tract_core_properties</c> fragment, the other fragments, then
/// <c>graph network(...) -&gt; (...)</c> with one 4-space-indented statement per line, blank lines placed as
/// torch_to_nnef places them. Floats are printed as
/// Python's <c>repr</c> (exact round trip of the double), never as <c>e+</c> before tract 0.23; strings are escaped
/// so tract reads them back; no <c>{{</c>, <c>{%</c> or <c>{#</c> appears anywhere (tract &gt;= 0.22 runs the file
/// through a template engine).
/// </summary>
internal sealed class GraphTextWriter
{
    private static readonly TractVersion PositiveExponents = new(0, 23, 0);

    private readonly StringBuilder _sb = new();
    private readonly bool _allowPositiveExponent;

    private GraphTextWriter(TractVersion target)
    {
        _allowPositiveExponent = target >= PositiveExponents;
    }

    /// <summary>Formats <paramref name="graph"/> for <paramref name="target"/>.</summary>
    /// <exception cref="UnsupportedFeatureException">A value with no text form (NaN/infinite literal, template delimiters).</exception>
    /// <exception cref="InvalidGraphException">An output name that is not an identifier.</exception>
    public static string Format(Graph graph, TractVersion target) => new GraphTextWriter(target).Write(graph);

    private string Write(Graph graph)
    {
        _sb.Append("version 1.0;\n\n");
        List<string> extensions =
        [
            .. graph.Registries.Select(r => "tract_registry " + r),
            .. graph.Symbols.Select(s => "tract_symbol " + s),
            .. graph.Assertions.Select(a => "tract_assert " + a),
            .. graph.OtherExtensions,
        ];
        foreach (string ext in extensions)
        {
            if (ext.Contains(';', StringComparison.Ordinal) || ext.Contains('#', StringComparison.Ordinal) || HasTemplateDelimiter(ext))
            {
                throw new UnsupportedFeatureException(null, null, $"extension '{ext}' cannot be written (';', '#' or a template delimiter)");
            }

            _sb.Append("extension ").Append(ext).Append(";\n");
        }

        if (extensions.Count > 0)
        {
            _sb.Append('\n');
        }

        if (graph.Properties.Count > 0)
        {
            WriteProperties(graph.Properties);
        }

        foreach (Fragment f in graph.Fragments)
        {
            WriteFragment(f);
        }

        if (graph.Properties.Count > 0 || graph.Fragments.Count > 0)
        {
            // torch_to_nnef leaves five blank lines between its fragment section and the graph (four more than
            // between fragments); matching them makes fragment-free graphs byte-identical to the reference's.
            _sb.Append("\n\n\n\n");
        }

        _sb.Append("graph ").Append(Id(graph.Name))
            .Append('(').Append(string.Join(", ", graph.Inputs.Select(Id))).Append(") -> (")
            .Append(string.Join(", ", graph.Outputs.Select(Id))).Append(")\n{\n");
        foreach (Node n in graph.Nodes)
        {
            WriteStatement(n, "    ");
        }

        _sb.Append("}\n");
        return _sb.ToString();
    }

    private void WriteProperties(List<KeyValuePair<string, Arg>> properties)
    {
        _sb.Append("fragment ").Append(GraphLowering.PropertiesFragment).Append("(\n) -> (properties: (string, tensor<scalar>)[])\n{\n  properties = [\n");
        for (int i = 0; i < properties.Count; i++)
        {
            (string key, Arg value) = properties[i];
            string v = value is StringLiteral s ? Quote(s.Value, '"') : FormatArg(value);
            _sb.Append("    (").Append(Quote(key, '"')).Append(", ").Append(v).Append(')')
                .Append(i + 1 < properties.Count ? ",\n" : "\n");
        }

        _sb.Append("  ];\n}\n\n");
    }

    private void WriteFragment(Fragment f)
    {
        _sb.Append("fragment ").Append(Id(f.Name));
        if (f.Generic is not null)
        {
            _sb.Append('<').Append(f.Generic).Append('>');
        }

        _sb.Append("(\n");
        for (int i = 0; i < f.Parameters.Count; i++)
        {
            FragmentParameter p = f.Parameters[i];
            _sb.Append("    ").Append(Id(p.Name)).Append(": ").Append(p.Type);
            if (p.Default is not null)
            {
                _sb.Append(" = ").Append(FormatArg(p.Default));
            }

            _sb.Append(i + 1 < f.Parameters.Count ? ",\n" : "\n");
        }

        _sb.Append(") -> (").Append(string.Join(", ", f.Results.Select(r => $"{Id(r.Name)}: {r.Type}"))).Append(')');
        if (f.Body is null)
        {
            _sb.Append(";\n\n");
            return;
        }

        _sb.Append("\n{\n");
        foreach (Node n in f.Body)
        {
            WriteStatement(n, "    ");
        }

        _sb.Append("}\n\n");
    }

    private void WriteStatement(Node n, string indent)
    {
        if (n.Outputs.Count == 0)
        {
            throw new InvalidGraphException(n.Op, "a node must define at least one value");
        }

        string outs = string.Join(", ", n.Outputs.Select(Id));
        outs = n.OutputForm switch
        {
            OutputForm.Tuple => "(" + outs + ")",
            OutputForm.Array => "[" + outs + "]",
            _ => outs,
        };
        _sb.Append(indent).Append(outs).Append(" = ");
        if (n.Op == Graph.AliasOp)
        {
            if (n.Inputs.Count != 1 || n.Attributes.Count != 0)
            {
                throw new InvalidGraphException(n.Name, "an alias binds exactly one positional argument");
            }

            _sb.Append(FormatArg(n.Inputs[0])).Append(";\n");
            return;
        }

        _sb.Append(Id(n.Op));
        if (n.Generic is not null)
        {
            _sb.Append('<').Append(n.Generic).Append('>');
        }

        _sb.Append('(');
        bool first = true;
        foreach (Arg a in n.Inputs)
        {
            _sb.Append(first ? string.Empty : ", ").Append(FormatArg(a));
            first = false;
        }

        foreach ((string name, Arg a) in n.Attributes)
        {
            _sb.Append(first ? string.Empty : ", ").Append(Id(name)).Append(" = ").Append(FormatArg(a));
            first = false;
        }

        _sb.Append(");\n");
    }

    /// <summary>Formats an argument as tract reads it.</summary>
    private string FormatArg(Arg a) => a switch
    {
        ValueRef r => Id(r.Name),
        IntLiteral i => i.Value.ToString(CultureInfo.InvariantCulture),
        FloatLiteral f => double.IsFinite(f.Value)
            ? NnefLiterals.FormatTractFloat(f.Value, _allowPositiveExponent)
            : throw new UnsupportedFeatureException(null, null, $"{f.Value} cannot be written as a tract literal here"),
        BoolLiteral b => b.Value ? "true" : "false",
        StringLiteral s => Quote(s.Value, '\''),
        ArrayArg arr => "[" + string.Join(", ", arr.Items.Select(FormatArg)) + "]",
        TupleArg t => "(" + string.Join(", ", t.Items.Select(FormatArg)) + ")",
        DimArg d => FormatDim(d.Value),
        _ => throw new InvalidOperationException($"Unknown argument {a}"),
    };

    /// <summary>A dimension expression as infix text (tract writes TDims this way); symbols must be plain identifiers.</summary>
    private static string FormatDim(Dim d)
    {
        foreach (string s in d.Symbols)
        {
            if (!NnefLiterals.IsIdentifier(s))
            {
                throw new UnsupportedFeatureException(null, null, $"dimension '{d}' uses symbol '{s}', which is not an identifier");
            }
        }

        return d.ToString();
    }

    /// <summary>An identifier as written: plain when valid, else tract's escaped <c>i"..."</c> form.</summary>
    internal static string Id(string name) =>
        NnefLiterals.IsIdentifier(name) ? name : "i" + Quote(name, '"');

    private static string Quote(string value, char quote) => NnefLiterals.QuoteString(value, quote);

    private static bool HasTemplateDelimiter(string s) =>
        s.Contains("{{", StringComparison.Ordinal) || s.Contains("{%", StringComparison.Ordinal) || s.Contains("{#", StringComparison.Ordinal);
}
