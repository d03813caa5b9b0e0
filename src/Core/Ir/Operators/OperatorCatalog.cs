using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// The one catalog of the operators tract's NNEF front-end defines and this toolchain understands, per registry:
/// <c>tract_nnef</c> (always active: NNEF primitives, element-wise and binary operators, stdlib fragments),
/// <c>tract_core</c> and <c>tract_transformers</c> (active with <c>extension tract_registry ...</c>). Each entry is an
/// <see cref="OperatorSchema"/>.
/// </summary>
public static class OperatorCatalog
{
    /// <summary>The standard registry, always active.</summary>
    public const string NnefRegistry = "tract_nnef";

    /// <summary>tract's core extensions.</summary>
    public const string CoreRegistry = "tract_core";

    /// <summary>tract's fused transformer operators.</summary>
    public const string TransformersRegistry = "tract_transformers";

    private static readonly Dictionary<string, Dictionary<string, OperatorSchema>> Tables = Build();

    /// <summary>Registries a graph activates with extension lines, in tract's framework order (searched last first).</summary>
    public static IReadOnlyList<string> ExtensionRegistries { get; } = [CoreRegistry, TransformersRegistry];

    /// <summary>Every registry id, the always-active one first.</summary>
    public static IReadOnlyList<string> RegistryIds { get; } = [NnefRegistry, CoreRegistry, TransformersRegistry];

    /// <summary>Every operator of every registry.</summary>
    public static IEnumerable<OperatorSchema> All => RegistryIds.SelectMany(r => Tables[r].Values);

    /// <summary>The operator <paramref name="name"/> of <paramref name="registry"/>, or null.</summary>
    public static OperatorSchema? Find(string registry, string name) =>
        Tables.TryGetValue(registry, out Dictionary<string, OperatorSchema>? table) && table.TryGetValue(name, out OperatorSchema? s) ? s : null;

    /// <summary>
    /// The definition tract uses for <paramref name="name"/> with the given registries active: the last activated
    /// extension registry defining it, else <c>tract_nnef</c>. Null when none of them defines it.
    /// </summary>
    public static OperatorSchema? Resolve(string name, IEnumerable<string> activeRegistries)
    {
        ArgumentNullException.ThrowIfNull(activeRegistries);

        // Called for every statement a builder appends: a graph activates at most a few registries, so a scan of the
        // caller's collection beats building a set (and allocates nothing when it is a list or an array).
        for (int i = ExtensionRegistries.Count - 1; i >= 0; i--)
        {
            string registry = ExtensionRegistries[i];
            if (IsActive(activeRegistries, registry) && Find(registry, name) is OperatorSchema s)
            {
                return s;
            }
        }

        return Find(NnefRegistry, name);
    }

    private static bool IsActive(IEnumerable<string> active, string registry)
    {
        if (active is IReadOnlyList<string> list)
        {
            for (int i = 0; i < list.Count; i++)
            {
                if (string.Equals(list[i], registry, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        return active.Contains(registry, StringComparer.Ordinal);
    }

    /// <summary>The operator <paramref name="name"/> in whichever registry defines it (the standard one first), or null.</summary>
    public static OperatorSchema? FindAny(string name) => RegistryIds.Select(r => Find(r, name)).FirstOrDefault(s => s is not null);

    /// <summary>The registry a graph must activate to use <paramref name="name"/> (null for <c>tract_nnef</c> or unknown names).</summary>
    public static string? RegistryNeededFor(string name) =>
        Find(NnefRegistry, name) is not null ? null : ExtensionRegistries.FirstOrDefault(r => Find(r, name) is not null);

    private static Dictionary<string, Dictionary<string, OperatorSchema>> Build()
    {
        var builder = new CatalogBuilder();
        SourceOperators.Register(builder);
        ShapeOperators.Register(builder);
        ElementWiseOperators.Register(builder);
        LogicOperators.Register(builder);
        ProductOperators.Register(builder);
        WindowOperators.Register(builder);
        ReduceOperators.Register(builder);
        GatherOperators.Register(builder);
        FusedOperators.Register(builder);
        ScanPlan.Register(builder);
        StdlibFragments.Register(builder);
        return builder.Tables;
    }
}

/// <summary>
/// Resolves operator names for one graph as tract's <c>wire_invocation</c>: a fragment with a body defined in the
/// document wins, then the activated registries (see <see cref="OperatorCatalog.Resolve"/>).
/// </summary>
public sealed class OperatorResolver
{
    private readonly Graph _graph;
    private Dictionary<string, OperatorSchema> _documentFragments = new(StringComparer.Ordinal);
    private string[] _active = [];
    private int _fragmentCount = -1;
    private int _registryCount = -1;

    /// <summary>Prepares resolution for <paramref name="graph"/>'s fragments and registries (fragments and registries added later are seen too).</summary>
    public OperatorResolver(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        _graph = graph;
    }

    /// <summary>The schema of <paramref name="op"/>, or null when nothing defines it for this graph.</summary>
    public OperatorSchema? TryResolve(string op)
    {
        Refresh();
        return _documentFragments.TryGetValue(op, out OperatorSchema? f) ? f : OperatorCatalog.Resolve(op, _active);
    }

    /// <summary>The schema of <paramref name="op"/>.</summary>
    /// <exception cref="InvalidGraphException">The operator needs a registry the graph does not activate.</exception>
    /// <exception cref="UnsupportedFeatureException">Nothing defines the operator.</exception>
    public OperatorSchema Resolve(string op)
    {
        if (TryResolve(op) is OperatorSchema s)
        {
            return s;
        }

        if (OperatorCatalog.RegistryNeededFor(op) is string registry)
        {
            throw new InvalidGraphException(null, $"operator '{op}' needs 'extension tract_registry {registry};'");
        }

        throw new UnsupportedFeatureException(null, null, $"unknown operator '{op}'");
    }

    private void Refresh()
    {
        if (_graph.Fragments.Count != _fragmentCount)
        {
            _documentFragments = _graph.Fragments.Where(f => f.Body is not null)
                .GroupBy(f => f.Name, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => OperatorSchema.FromFragment(g.Last()), StringComparer.Ordinal);
            _fragmentCount = _graph.Fragments.Count;
        }

        if (_graph.Registries.Count != _registryCount)
        {
            _active = [.. _graph.Registries];
            _registryCount = _graph.Registries.Count;
        }
    }
}

/// <summary>Collects the definitions of the <c>Definitions/*</c> files into per-registry tables.</summary>
internal sealed class CatalogBuilder
{
    public Dictionary<string, Dictionary<string, OperatorSchema>> Tables { get; } = new(StringComparer.Ordinal)
    {
        [OperatorCatalog.NnefRegistry] = new(StringComparer.Ordinal),
        [OperatorCatalog.CoreRegistry] = new(StringComparer.Ordinal),
        [OperatorCatalog.TransformersRegistry] = new(StringComparer.Ordinal),
    };

    public void Primitive(string registry, string name, string parameters, InferenceRule rule, int results = 1) =>
        Add(new OperatorSchema(name, registry, OperatorForm.Primitive, ParameterSpec.Parse(parameters), results, null, rule));

    public void UnitElementWise(string registry, string name, InferenceRule rule) =>
        Add(new OperatorSchema(name, registry, OperatorForm.UnitElementWise, ParameterSpec.Parse("x: tensor"), 1, null, rule));

    public void Binary(string registry, string name, InferenceRule rule) =>
        Add(new OperatorSchema(name, registry, OperatorForm.Binary, ParameterSpec.Parse("x: tensor, y: tensor"), 1, null, rule));

    public void Fragment(string registry, Fragment fragment) => Add(OperatorSchema.FromFragment(fragment, registry));

    private void Add(OperatorSchema schema) => Tables[schema.Registry].Add(schema.Name, schema);
}
