namespace TorchToNnef.Ir;

/// <summary>A parameter of a fragment declaration, with its NNEF type text and optional default.</summary>
/// <param name="Name">Parameter name.</param>
/// <param name="Type">Type as written, e.g. <c>tensor&lt;scalar&gt;</c>, <c>integer[]</c>.</param>
/// <param name="Default">Default value, or null when the parameter is required.</param>
public sealed record FragmentParameter(string Name, string Type, Arg? Default = null);

/// <summary>A result of a fragment declaration.</summary>
/// <param name="Name">Result name.</param>
/// <param name="Type">Type as written.</param>
public sealed record FragmentResult(string Name, string Type);

/// <summary>
/// A fragment defined in a graph document: a declaration and, usually, a body. The body is a list of nodes in their
/// own scope, which sees only the parameters (never graph identifiers). Infix operators and nested calls in the text
/// are lowered to nodes with generated names.
/// </summary>
public sealed class Fragment
{
    /// <summary>Creates a fragment.</summary>
    public Fragment(string name)
    {
        Name = name;
    }

    /// <summary>Fragment name.</summary>
    public string Name { get; }

    /// <summary>Generic parameter declared on the fragment (<c>fragment f&lt;? = scalar&gt;</c>), as text; null if none.</summary>
    public string? Generic { get; set; }

    /// <summary>Declared parameters in order.</summary>
    public List<FragmentParameter> Parameters { get; } = [];

    /// <summary>Declared results in order.</summary>
    public List<FragmentResult> Results { get; } = [];

    /// <summary>Body nodes; null for a declaration without body.</summary>
    public List<Node>? Body { get; set; }

    /// <summary>A copy whose lists and body nodes can be edited independently.</summary>
    public Fragment Clone()
    {
        var copy = new Fragment(Name) { Generic = Generic, Body = Body?.Select(n => n.Clone()).ToList() };
        copy.Parameters.AddRange(Parameters);
        copy.Results.AddRange(Results);
        return copy;
    }
}
