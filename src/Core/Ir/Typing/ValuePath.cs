namespace TorchToNnef.Ir;

/// <summary>
/// How values are named across scopes, shared by shape inference and the evaluator so their reports line up: a value
/// of the graph body is its name; a value computed inside a fragment invocation is
/// <c>&lt;caller path&gt; (&lt;fragment&gt;) &gt; &lt;name&gt;</c>, e.g. <c>y (silu) &gt; output</c>.
/// </summary>
public static class ValuePath
{
    /// <summary>The path of <paramref name="name"/> in the scope <paramref name="scope"/> (empty for the graph body).</summary>
    public static string Of(string scope, string name) => scope.Length == 0 ? name : $"{scope} > {name}";

    /// <summary>The scope of the body of <paramref name="fragment"/> invoked by <paramref name="node"/> in <paramref name="scope"/>.</summary>
    public static string FragmentScope(string scope, Node node, string fragment)
    {
        ArgumentNullException.ThrowIfNull(node);
        return $"{Of(scope, node.Name)} ({fragment})";
    }
}
