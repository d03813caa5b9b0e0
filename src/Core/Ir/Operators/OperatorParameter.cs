namespace TorchToNnef.Ir;

/// <summary>How an operator reads one of its arguments.</summary>
public enum ParameterKind
{
    /// <summary>A tensor (a value, a literal, or an array stacked into a tensor).</summary>
    Tensor,
    /// <summary>Several tensors (<c>concat</c>'s values, <c>tract_core_einsum</c>'s inputs).</summary>
    TensorList,
    /// <summary>One integer (an axis, a group count); may be a symbol or a TDim value.</summary>
    Integer,
    /// <summary>A list of integers (axes, a shape, repeats, slice bounds); items may be symbols or TDim values.</summary>
    Integers,
    /// <summary>A float (an epsilon, a slope, a padding value).</summary>
    Float,
    /// <summary>A logical flag.</summary>
    Logical,
    /// <summary>A string (a border mode, an einsum expression, a type name).</summary>
    String,
    /// <summary>A list of <c>(before, after)</c> integer pairs (padding).</summary>
    Pairs,
    /// <summary>Anything (a fragment parameter whose NNEF type is not one of the above).</summary>
    Any,
}

/// <summary>
/// One declared parameter of an operator: its name, how it is read, its default, and whether it may be absent without
/// one or is found by name only (tract reads some arguments that its declaration does not list, such as
/// <c>slice</c>'s <c>stride</c>, by name).
/// </summary>
/// <param name="Name">Parameter name.</param>
/// <param name="Kind">How the argument is read.</param>
/// <param name="Default">Value used when the argument is absent, or null.</param>
public sealed record OperatorParameter(string Name, ParameterKind Kind, Arg? Default = null)
{
    /// <summary>May be absent even without a default (the operator then behaves differently).</summary>
    public bool Optional { get; init; }

    /// <summary>Not part of the positional declaration: only a named argument binds it.</summary>
    public bool NamedOnly { get; init; }

    /// <summary>True when an invocation must give this argument.</summary>
    public bool IsRequired => Default is null && !Optional;

    /// <summary>True for parameters read as tensors (the operator's data inputs).</summary>
    public bool IsTensor => Kind is ParameterKind.Tensor or ParameterKind.TensorList;

    /// <summary>The kind a fragment parameter of NNEF type <paramref name="type"/> is read as.</summary>
    public static ParameterKind KindOfNnefType(string type)
    {
        ArgumentNullException.ThrowIfNull(type);
        string t = string.Concat(type.Where(c => !char.IsWhiteSpace(c)));
        return t switch
        {
            _ when t.StartsWith("tensor<", StringComparison.Ordinal) => t.EndsWith("[]", StringComparison.Ordinal) ? ParameterKind.TensorList : ParameterKind.Tensor,
            "integer" => ParameterKind.Integer,
            "integer[]" => ParameterKind.Integers,
            "scalar" => ParameterKind.Float,
            "logical" => ParameterKind.Logical,
            "string" => ParameterKind.String,
            "(integer,integer)[]" => ParameterKind.Pairs,
            _ => ParameterKind.Any,
        };
    }

    /// <summary>The NNEF type a fragment declares for a parameter of this kind.</summary>
    public static string NnefTypeOf(ParameterKind kind) => kind switch
    {
        ParameterKind.Tensor => "tensor<scalar>",
        ParameterKind.TensorList => "tensor<scalar>[]",
        ParameterKind.Integer => "integer",
        ParameterKind.Integers => "integer[]",
        ParameterKind.Float => "scalar",
        ParameterKind.Logical => "logical",
        ParameterKind.String => "string",
        ParameterKind.Pairs => "(integer, integer)[]",
        _ => "tensor<scalar>",
    };
}
