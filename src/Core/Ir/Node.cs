namespace TorchToNnef.Ir;

/// <summary>How a node's outputs are written on the left of the assignment.</summary>
public enum OutputForm
{
    /// <summary><c>y = op(...)</c>, or <c>a, b = op(...)</c> when there are several.</summary>
    Plain,
    /// <summary><c>(a, b) = op(...)</c>.</summary>
    Tuple,
    /// <summary><c>[a, b] = op(...)</c>.</summary>
    Array,
}

/// <summary>
/// One operator invocation: an operator (or fragment) name, an optional generic (<c>variable&lt;scalar&gt;</c>),
/// positional arguments, named arguments in the order they were written, and the names of the values it defines.
/// Value names are unique in a graph (loaders rename re-assigned NNEF identifiers).
/// </summary>
public sealed class Node
{
    /// <summary>Creates a node defining <paramref name="outputs"/>.</summary>
    public Node(string op, params IEnumerable<string> outputs)
    {
        Op = op;
        Outputs = [.. outputs];
    }

    /// <summary>Operator or fragment name (<c>conv</c>, <c>tract_core_gather</c>, <c>silu</c>).</summary>
    public string Op { get; set; }

    /// <summary>Generic type argument, e.g. <c>scalar</c> in <c>variable&lt;scalar&gt;</c>; null when absent.</summary>
    public string? Generic { get; set; }

    /// <summary>Positional arguments.</summary>
    public List<Arg> Inputs { get; } = [];

    /// <summary>Named arguments, in writing order.</summary>
    public OrderedDictionary<string, Arg> Attributes { get; } = new(StringComparer.Ordinal);

    /// <summary>Names of the values this node defines.</summary>
    public List<string> Outputs { get; }

    /// <summary>How the outputs are grouped on the left-hand side.</summary>
    public OutputForm OutputForm { get; set; }

    /// <summary>The first output's name, used to name the node in messages.</summary>
    public string Name => Outputs.Count > 0 ? Outputs[0] : Op;

    /// <summary>Every value or symbol name referenced by the arguments.</summary>
    public IEnumerable<string> References
    {
        get
        {
            // Collected into one list rather than chained iterators: validation, inference and the writers ask every
            // node of a graph (thousands for a decoder), and nested SelectMany allocated several objects per argument.
            List<string>? found = null;
            foreach (Arg a in Inputs)
            {
                Collect(a, ref found);
            }

            for (int i = 0; i < Attributes.Count; i++)
            {
                Collect(Attributes.GetAt(i).Value, ref found);
            }

            return found ?? (IEnumerable<string>)[];
        }
    }

    private static void Collect(Arg a, ref List<string>? found)
    {
        switch (a)
        {
            case ValueRef r:
                (found ??= []).Add(r.Name);
                break;
            case ArrayArg arr:
                for (int i = 0; i < arr.Items.Count; i++)
                {
                    Collect(arr.Items[i], ref found);
                }

                break;
            case TupleArg t:
                for (int i = 0; i < t.Items.Count; i++)
                {
                    Collect(t.Items[i], ref found);
                }

                break;
            case IntLiteral or FloatLiteral or BoolLiteral or StringLiteral:
                break;
            default:
                (found ??= []).AddRange(a.References);
                break;
        }
    }

    /// <summary>Adds a positional argument; returns this node for chaining.</summary>
    public Node With(Arg input)
    {
        Inputs.Add(input);
        return this;
    }

    /// <summary>Adds a named argument; returns this node for chaining.</summary>
    public Node With(string name, Arg value)
    {
        Attributes[name] = value;
        return this;
    }

    /// <summary>The named argument, or null.</summary>
    public Arg? GetAttribute(string name) => Attributes.TryGetValue(name, out Arg? a) ? a : null;

    /// <summary>A copy with its own argument lists (arguments themselves are immutable and shared).</summary>
    public Node Clone()
    {
        var copy = new Node(Op, Outputs) { Generic = Generic, OutputForm = OutputForm };
        copy.Inputs.AddRange(Inputs);
        foreach ((string name, Arg value) in Attributes)
        {
            copy.Attributes[name] = value;
        }

        return copy;
    }

    /// <summary>Formats roughly as NNEF, for messages.</summary>
    public override string ToString()
    {
        string generic = Generic is null ? string.Empty : $"<{Generic}>";
        IEnumerable<string> args = Inputs.Select(a => a.ToString()!)
            .Concat(Attributes.Select(kv => $"{kv.Key} = {kv.Value}"));
        return $"{string.Join(", ", Outputs)} = {Op}{generic}({string.Join(", ", args)})";
    }
}
