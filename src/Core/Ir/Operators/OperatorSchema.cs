using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>How tract resolves an operator name inside a registry, which decides how its arguments are bound.</summary>
public enum OperatorForm
{
    /// <summary>A primitive with its own deserializer: arguments bound by name, then by position, then default.</summary>
    Primitive,
    /// <summary>A one-input element-wise operator: reads its first argument, whatever its name.</summary>
    UnitElementWise,
    /// <summary>A binary operator: reads its first two arguments, whatever their names.</summary>
    Binary,
    /// <summary>A fragment with a body (stdlib or document): the body is run with the parameters bound.</summary>
    Fragment,
}

/// <summary>
/// Everything the toolchain knows about one operator, kept once: its registry, form, declared parameters (names,
/// positions, defaults, which are tensors), number of results, fragment body, and the rule that gives its output types
/// and shapes. The evaluator binds its arguments through it, shape inference runs its rule, the passes and the
/// compressor find argument positions with it, and the graph builder checks calls against it.
/// </summary>
public sealed class OperatorSchema
{
    private readonly Dictionary<string, int> _positions = new(StringComparer.Ordinal);

    internal OperatorSchema(string name, string registry, OperatorForm form, IReadOnlyList<OperatorParameter> parameters, int resultCount, Fragment? body, InferenceRule? rule)
    {
        Name = name;
        Registry = registry;
        Form = form;
        Parameters = parameters;
        ResultCount = resultCount;
        Body = body;
        Rule = rule;
        for (int i = 0; i < parameters.Count; i++)
        {
            if (!_positions.TryAdd(parameters[i].Name, i))
            {
                throw new InvalidGraphException(name, $"parameter '{parameters[i].Name}' is declared twice");
            }
        }
    }

    /// <summary>Registry id for fragments defined by a graph document.</summary>
    public const string DocumentRegistry = "document";

    /// <summary>Operator name.</summary>
    public string Name { get; }

    /// <summary>Registry defining it (<c>tract_nnef</c>, <c>tract_core</c>, <c>tract_transformers</c>, or <see cref="DocumentRegistry"/>).</summary>
    public string Registry { get; }

    /// <summary>How arguments are bound.</summary>
    public OperatorForm Form { get; }

    /// <summary>Declared parameters in order (named-only ones last).</summary>
    public IReadOnlyList<OperatorParameter> Parameters { get; }

    /// <summary>Number of values the operator returns.</summary>
    public int ResultCount { get; }

    /// <summary>The fragment body run for a <see cref="OperatorForm.Fragment"/>; null for built-ins.</summary>
    public Fragment? Body { get; }

    /// <summary>True for operators applied element by element to one input (their output has the input's shape).</summary>
    public bool IsUnitElementWise => Form == OperatorForm.UnitElementWise;

    internal InferenceRule? Rule { get; }

    /// <summary>A schema for a fragment defined in a document: parameters from its declaration, inferred through its body.</summary>
    public static OperatorSchema FromFragment(Fragment fragment, string registry = DocumentRegistry)
    {
        ArgumentNullException.ThrowIfNull(fragment);
        List<OperatorParameter> parameters = [.. fragment.Parameters.Select(p => new OperatorParameter(p.Name, OperatorParameter.KindOfNnefType(p.Type), p.Default))];
        return new OperatorSchema(fragment.Name, registry, OperatorForm.Fragment, parameters, fragment.Results.Count, fragment, null);
    }

    /// <summary>The declared parameter named <paramref name="name"/>, or null.</summary>
    public OperatorParameter? Parameter(string name) => _positions.TryGetValue(name, out int i) ? Parameters[i] : null;

    /// <summary>Declared position of a parameter (its index among the positional ones), or -1.</summary>
    public int PositionOf(string name) => _positions.TryGetValue(name, out int i) && !Parameters[i].NamedOnly ? i : -1;

    /// <summary>Every argument of <paramref name="node"/> in writing order (positional first), as tract's <c>invocation.arguments</c>.</summary>
    public static IReadOnlyList<Arg> ArgumentsInOrder(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        return [.. node.Inputs, .. node.Attributes.Values];
    }

    /// <summary>The argument at <paramref name="index"/> in <see cref="ArgumentsInOrder"/>, or null beyond them (without building the list).</summary>
    internal static Arg? ArgumentAt(Node node, int index) =>
        index < node.Inputs.Count ? node.Inputs[index]
        : index - node.Inputs.Count < node.Attributes.Count ? node.Attributes.GetAt(index - node.Inputs.Count).Value
        : null;

    /// <summary>
    /// The argument <paramref name="node"/> gives for <paramref name="name"/>, as tract binds it: for element-wise and
    /// binary operators the argument at the parameter's position in writing order (names ignored); otherwise a named
    /// argument, else the positional one at the declared position, else the default. Null when absent with no default.
    /// Names the declaration does not list are still found among the named arguments.
    /// </summary>
    public Arg? Argument(Node node, string name) => Explicit(node, name) ?? Parameter(name)?.Default;

    /// <summary>Like <see cref="Argument"/> without the default: what the invocation itself wrote, or null.</summary>
    public Arg? Explicit(Node node, string name)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (Form is OperatorForm.UnitElementWise or OperatorForm.Binary && _positions.TryGetValue(name, out int p))
        {
            return ArgumentAt(node, p);
        }

        if (node.Attributes.TryGetValue(name, out Arg? named))
        {
            return named;
        }

        int position = PositionOf(name);
        return position >= 0 && position < node.Inputs.Count ? node.Inputs[position] : null;
    }

    /// <summary>
    /// Where each argument of <paramref name="node"/> binds: the parameter for each positional argument (null beyond the
    /// declaration) and for each named one (null for a name the declaration does not list).
    /// </summary>
    public IEnumerable<(Arg Argument, OperatorParameter? Parameter)> Bindings(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        IReadOnlyList<OperatorParameter> positional = [.. Parameters.Where(p => !p.NamedOnly)];
        if (Form is OperatorForm.UnitElementWise or OperatorForm.Binary)
        {
            IReadOnlyList<Arg> all = ArgumentsInOrder(node);
            for (int i = 0; i < all.Count; i++)
            {
                yield return (all[i], i < positional.Count ? positional[i] : null);
            }

            yield break;
        }

        for (int i = 0; i < node.Inputs.Count; i++)
        {
            yield return (node.Inputs[i], i < positional.Count ? positional[i] : null);
        }

        foreach ((string key, Arg value) in node.Attributes)
        {
            yield return (value, Parameter(key));
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Name}({string.Join(", ", Parameters.Select(p => p.Default is null ? p.Name : $"{p.Name} = {p.Default}"))})";
}
