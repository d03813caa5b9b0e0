using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// Builds the body of a fragment (see <see cref="GraphBuilder.DefineFragment"/>): parameters are declared in order,
/// tensors with a prototype type that types the body while it is built (each invocation is typed again through the
/// body with its own arguments), other parameters with an example value; results are named values of the body.
/// </summary>
public sealed class FragmentBuilder : BodyBuilder
{
    private readonly string _name;
    private readonly List<FragmentParameter> _parameters = [];
    private readonly List<FragmentResult> _results = [];

    internal FragmentBuilder(Graph root, string name)
        : base(root, Scratch(root), new NameScope())
    {
        _name = name;
        foreach (string s in root.Symbols)
        {
            Names.Reserve(s);
        }
    }

    /// <summary>A tensor parameter <c>name: tensor&lt;...&gt;</c>; the body is typed with <paramref name="prototype"/>.</summary>
    public GraphValue Parameter(string name, TensorType prototype, Arg? defaultValue = null)
    {
        ArgumentNullException.ThrowIfNull(prototype);
        Declare(name, defaultValue, NnefTensorType(prototype.Type));
        Inference.BindParameter(name, prototype);
        return new GraphValue(this, name, prototype);
    }

    /// <summary>
    /// A non-tensor parameter (an integer, a list of axes, a flag, a string) read in the body as <c>name</c>; the
    /// body is typed with <paramref name="example"/>. Returns the argument referencing it.
    /// </summary>
    public Arg Parameter(string name, ParameterKind kind, Arg example, Arg? defaultValue = null)
    {
        ArgumentNullException.ThrowIfNull(example);
        if (kind is ParameterKind.Tensor or ParameterKind.TensorList)
        {
            throw new ArgumentException("Tensor parameters take a prototype type.", nameof(kind));
        }

        Declare(name, defaultValue, OperatorParameter.NnefTypeOf(kind));
        Inference.BindParameter(name, example);
        return Arg.Ref(name);
    }

    /// <summary>Declares <paramref name="value"/> as the next result, named <paramref name="name"/> (default: its own name).</summary>
    public void Result(GraphValue value, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        GraphValue result = value;
        if (name is not null && name != value.Name)
        {
            if (!Names.TryTake(name))
            {
                throw new InvalidGraphException(name, $"result of fragment '{_name}' needs an identifier no other value uses");
            }

            result = Emit(new Node(Graph.AliasOp, name).With(value.ToArg()))[0];
        }

        if (_parameters.Any(p => p.Name == result.Name) || _results.Any(r => r.Name == result.Name))
        {
            throw new InvalidGraphException(result.Name, $"fragment '{_name}' cannot return a parameter or one value twice; give the result its own name");
        }

        _results.Add(new FragmentResult(result.Name, NnefTensorType(result.DType)));
    }

    internal Fragment Complete()
    {
        if (_results.Count == 0)
        {
            throw new InvalidGraphException(_name, "a fragment needs at least one result");
        }

        var fragment = new Fragment(_name) { Body = [.. Body.Nodes] };
        fragment.Parameters.AddRange(_parameters);
        fragment.Results.AddRange(_results);
        return fragment;
    }

    private protected override void ActivateRegistry(string registry)
    {
        // Fragment bodies resolve operators with the graph's registries.
        base.ActivateRegistry(registry);
        if (!Body.Registries.Contains(registry) && registry != OperatorCatalog.NnefRegistry && registry != OperatorSchema.DocumentRegistry)
        {
            Body.Registries.Add(registry);
        }
    }

    private void Declare(string name, Arg? defaultValue, string type)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (Body.Nodes.Count > 0)
        {
            throw new InvalidOperationException("Declare every parameter before the body's statements.");
        }

        if (!Names.TryTake(name))
        {
            throw new InvalidGraphException(name, $"parameter of fragment '{_name}' needs an identifier used once");
        }

        _parameters.Add(new FragmentParameter(name, type, defaultValue));
    }

    private static string NnefTensorType(DatumType t) =>
        t.Kind == DatumKind.Bool ? "tensor<logical>" : t.IsInteger || t.Kind == DatumKind.TDim ? "tensor<integer>" : "tensor<scalar>";

    // The body is typed in a graph of its own that sees the graph's registries, fragments and symbols.
    private static Graph Scratch(Graph root)
    {
        var g = new Graph();
        g.Registries.AddRange(root.Registries);
        g.Fragments.AddRange(root.Fragments);
        g.Symbols.AddRange(root.Symbols);
        g.Assertions.AddRange(root.Assertions);
        return g;
    }
}
