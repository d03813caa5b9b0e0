using System.Globalization;
using System.Text;
using TorchToNnef.Errors;
using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Nnef.Text;

/// <summary>
/// Reads and writes <c>graph.quant</c> (tract <c>nnef/src/ast/quant.rs</c>): entries
/// <c>"id": zero_point_linear_quantize(zero_point = Z, scale = S, bits = B, signed = b, symmetric = b);</c> or
/// <c>"id": linear_quantize(min = A, max = B, bits = N);</c>, arguments in any order, each exactly once.
/// Keys are double-quoted identifiers or tract's escaped <c>i"..."</c> form.
/// </summary>
public static class GraphQuantText
{
    /// <summary>Parses the text; entries are returned in file order.</summary>
    /// <exception cref="InvalidInputFileException">Malformed text, a missing/duplicate argument, a duplicate key.</exception>
    /// <exception cref="UnsupportedFeatureException">A bit width tract cannot load (not 8 or 32).</exception>
    public static List<KeyValuePair<string, QuantInfo>> Parse(string text, string? file = null)
    {
        var lex = new NnefLexer(text, file);
        var entries = new List<KeyValuePair<string, QuantInfo>>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (lex.Peek().Kind != TokenKind.End)
        {
            Token key = lex.Next();
            bool ok = (key.Kind == TokenKind.String && key.Quote == '"') || (key.Kind == TokenKind.Identifier && key.Quote != '\0');
            if (!ok)
            {
                throw lex.Error(key, $"expected a double-quoted tensor name, found {key.Describe()}");
            }

            if (!keys.Add(key.Text))
            {
                throw lex.Error(key, $"duplicate entry for '{key.Text}'");
            }

            lex.Expect(":");
            Token op = lex.ExpectIdentifier("zero_point_linear_quantize or linear_quantize");
            lex.Expect("(");
            var args = new Dictionary<string, (Token At, string Value)>(StringComparer.Ordinal);
            while (!lex.Accept(")"))
            {
                Token name = lex.ExpectIdentifier("an argument name");
                lex.Expect("=");
                Token value = lex.Next();
                string v = value.Text;
                if (value.Is("-"))
                {
                    Token n = lex.Next();
                    v = n.Kind == TokenKind.Number ? "-" + n.Text : throw lex.Error(n, $"expected a number, found {n.Describe()}");
                }
                else if (value.Kind is not (TokenKind.Number or TokenKind.Identifier))
                {
                    throw lex.Error(value, $"expected a value, found {value.Describe()}");
                }

                if (!args.TryAdd(name.Text, (value, v)))
                {
                    throw lex.Error(name, $"argument '{name.Text}' given twice");
                }

                lex.Accept(",");
            }

            lex.Expect(";");
            entries.Add(new(key.Text, Build(lex, key, op, args)));
        }

        return entries;
    }

    /// <summary>
    /// Formats entries, one per line, in the given order, as torch_to_nnef writes them: keys double-quoted, numbers
    /// with round-trip precision, <c>symmetric</c> only when known, and <c>scale</c> before <c>zero_point</c> except
    /// for the keys in <paramref name="zeroPointFirst"/> (torch_to_nnef builds a quantize's entry with
    /// <c>zero_point</c> first and every other one with <c>scale</c> first; <see cref="QuantizeOutputs"/> finds them).
    /// </summary>
    public static string Format(IEnumerable<KeyValuePair<string, QuantInfo>> entries, IReadOnlySet<string>? zeroPointFirst = null)
    {
        var sb = new StringBuilder();
        foreach ((string key, QuantInfo q) in entries)
        {
            sb.Append('"').Append(key).Append("\": ");
            if (q.Format == QuantFormat.MinMaxLinear)
            {
                sb.Append("linear_quantize(min = ").Append(NnefLiterals.FormatFloat(q.Min))
                    .Append(", max = ").Append(NnefLiterals.FormatFloat(q.Max))
                    .Append(", bits = ").Append(q.Bits.ToString(CultureInfo.InvariantCulture)).Append(");\n");
                continue;
            }

            string zeroPoint = "zero_point = " + q.ZeroPoint.ToString(CultureInfo.InvariantCulture);
            string scale = "scale = " + NnefLiterals.FormatFloat(q.Scale);
            bool zeroPointLeads = zeroPointFirst?.Contains(key) == true;
            sb.Append("zero_point_linear_quantize(").Append(zeroPointLeads ? zeroPoint : scale)
                .Append(", ").Append(zeroPointLeads ? scale : zeroPoint)
                .Append(", bits = ").Append(q.Bits.ToString(CultureInfo.InvariantCulture))
                .Append(", signed = ").Append(q.Signed ? "true" : "false");
            if (q.Symmetric is bool sym)
            {
                sb.Append(", symmetric = ").Append(sym ? "true" : "false");
            }

            sb.Append(");\n");
        }

        return sb.ToString();
    }

    /// <summary>
    /// The quantized values a quantize produced: outputs of a <c>tract_core_cast</c> that have an entry while the value
    /// cast does not (torch_to_nnef's <c>quantize_per_tensor</c>); their entries list <c>zero_point</c> first.
    /// </summary>
    public static IReadOnlySet<string> QuantizeOutputs(Graph graph)
    {
        var outputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (Node n in graph.Nodes)
        {
            if (n.Op == "tract_core_cast" && n.Outputs.Count == 1 && graph.Quantization.ContainsKey(n.Outputs[0])
                && n.Inputs.Count > 0 && n.Inputs[0] is ValueRef input && !graph.Quantization.ContainsKey(input.Name))
            {
                outputs.Add(n.Outputs[0]);
            }
        }

        return outputs;
    }

    private static QuantInfo Build(NnefLexer lex, Token key, Token op, Dictionary<string, (Token At, string Value)> args)
    {
        string[] allowed = op.Text switch
        {
            "zero_point_linear_quantize" => ["zero_point", "scale", "bits", "signed", "symmetric"],
            "linear_quantize" => ["min", "max", "bits"],
            _ => throw lex.Error(op, $"unknown quantization '{op.Text}' (tract knows zero_point_linear_quantize and linear_quantize)"),
        };
        foreach ((string name, (Token at, _)) in args)
        {
            if (Array.IndexOf(allowed, name) < 0)
            {
                throw lex.Error(at, $"'{op.Text}' has no argument '{name}'");
            }
        }

        string Required(string name) =>
            args.TryGetValue(name, out var a) ? a.Value : throw lex.Error(op, $"'{key.Text}': missing argument '{name}'");

        long Integer(string name)
        {
            string v = Required(name);
            return long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long x)
                ? x
                : throw lex.Error(args[name].At, $"'{key.Text}': {name} must be an integer, got {v}");
        }

        double Real(string name)
        {
            string v = Required(name);
            return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) && double.IsFinite(x)
                ? x
                : throw lex.Error(args[name].At, $"'{key.Text}': {name} must be a finite number, got {v}");
        }

        bool Logical(string name)
        {
            string v = Required(name);
            return v switch
            {
                "true" => true,
                "false" => false,
                _ => throw lex.Error(args[name].At, $"'{key.Text}': {name} must be true or false, got {v}"),
            };
        }

        long bits = Integer("bits");
        if (bits is not (8 or 32))
        {
            throw new UnsupportedFeatureException(lex.File, key.Text, $"{bits}-bit quantization is not supported by tract (8 or 32)");
        }

        if (op.Text == "linear_quantize")
        {
            double min = Real("min");
            double max = Real("max");
            if (!(max > min))
            {
                throw lex.Error(op, $"'{key.Text}': max must be greater than min");
            }

            return QuantInfo.FromMinMax(min, max, (int)bits);
        }

        double scale = Real("scale");
        if (!(scale > 0))
        {
            throw lex.Error(args["scale"].At, $"'{key.Text}': scale must be positive");
        }

        return new QuantInfo
        {
            ZeroPoint = Integer("zero_point"),
            Scale = scale,
            Bits = (int)bits,
            Signed = Logical("signed"),
            Symmetric = args.ContainsKey("symmetric") ? Logical("symmetric") : null,
        };
    }
}
