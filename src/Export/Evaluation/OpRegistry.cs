namespace TorchToNnef.Export.Evaluation;

/// <summary>Implementation of a built-in operator.</summary>
internal delegate Operand OpImpl(Invocation invocation);

/// <summary>
/// The evaluator's implementations of one registry's built-in operators (<c>tract_nnef</c>, <c>tract_core</c>,
/// <c>tract_transformers</c>). What an operator is — its parameters, defaults, form and registry — comes from the
/// <see cref="OperatorCatalog"/>; an <c>Ops/*.cs</c> file only binds the computation to a catalog name.
/// </summary>
internal sealed class OpRegistry
{
    private readonly Dictionary<string, OpImpl> _impls = new(StringComparer.Ordinal);

    public OpRegistry(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public IEnumerable<string> Names => _impls.Keys;

    public bool TryGet(string op, out OpImpl impl) => _impls.TryGetValue(op, out impl!);

    /// <summary>Binds the implementation of a primitive declared in the catalog.</summary>
    public void Primitive(string name, OpImpl impl) => Bind(name, impl);

    /// <summary>Binds the implementation of a one-input element-wise operator declared in the catalog.</summary>
    public void UnitElementWise(string name, OpImpl impl) => Bind(name, impl);

    /// <summary>Binds the implementation of a binary operator declared in the catalog.</summary>
    public void Binary(string name, OpImpl impl) => Bind(name, impl);

    /// <summary>Every built-in of the catalog for this registry has an implementation (fragments run from their bodies).</summary>
    public void CheckComplete()
    {
        foreach (OperatorSchema s in OperatorCatalog.All.Where(s => s.Registry == Name && s.Body is null))
        {
            if (!_impls.ContainsKey(s.Name))
            {
                throw new InvalidOperationException($"The evaluator has no implementation of {Name} operator '{s.Name}'.");
            }
        }
    }

    private void Bind(string name, OpImpl impl)
    {
        if (OperatorCatalog.Find(Name, name) is not { Body: null })
        {
            throw new InvalidOperationException($"'{name}' is not a built-in of the {Name} catalog.");
        }

        _impls.Add(name, impl);
    }
}
