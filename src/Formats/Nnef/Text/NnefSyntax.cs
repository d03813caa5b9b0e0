using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Nnef.Text;

/// <summary>An expression as written in the text, before lowering to IR nodes.</summary>
internal abstract record Expr(int Line, int Column)
{
    /// <summary>
    /// Height of the expression tree (1 for a leaf), computed from the children when a node is built, so the parser
    /// can bound it before anything recurses over the tree.
    /// </summary>
    public virtual int Depth => 1;

    /// <summary>Deepest child of a list, 0 when empty.</summary>
    protected static int MaxDepth(IEnumerable<Expr> items) => items.Select(i => i.Depth).DefaultIfEmpty(0).Max();
}

/// <summary>Identifier reference.</summary>
internal sealed record IdentExpr(string Name, int Line, int Column) : Expr(Line, Column);

/// <summary>A literal: <see cref="IntLiteral"/>, <see cref="FloatLiteral"/>, <see cref="StringLiteral"/> or <see cref="BoolLiteral"/>.</summary>
internal sealed record LiteralExpr(Arg Value, int Line, int Column) : Expr(Line, Column);

/// <summary><c>[a, b]</c>.</summary>
internal sealed record ArrayExpr(IReadOnlyList<Expr> Items, int Line, int Column) : Expr(Line, Column)
{
    /// <inheritdoc />
    public override int Depth { get; } = 1 + MaxDepth(Items);
}

/// <summary><c>(a, b)</c>.</summary>
internal sealed record TupleExpr(IReadOnlyList<Expr> Items, int Line, int Column) : Expr(Line, Column)
{
    /// <inheritdoc />
    public override int Depth { get; } = 1 + MaxDepth(Items);
}

/// <summary>Infix operation, e.g. <c>a + b</c>.</summary>
internal sealed record BinaryExpr(string Op, Expr Left, Expr Right, int Line, int Column) : Expr(Line, Column)
{
    /// <inheritdoc />
    public override int Depth { get; } = 1 + Math.Max(Left.Depth, Right.Depth);
}

/// <summary>Prefix operation <c>-x</c> or <c>!x</c> on a non-literal.</summary>
internal sealed record UnaryExpr(string Op, Expr Operand, int Line, int Column) : Expr(Line, Column)
{
    /// <inheritdoc />
    public override int Depth { get; } = 1 + Operand.Depth;
}

/// <summary>One argument of an invocation; <see cref="Name"/> is null for positional ones.</summary>
internal sealed record Argument(string? Name, Expr Value);

/// <summary>Operator or fragment invocation <c>op&lt;generic&gt;(args)</c>.</summary>
internal sealed record CallExpr(string Op, string? Generic, IReadOnlyList<Argument> Arguments, int Line, int Column)
    : Expr(Line, Column)
{
    /// <inheritdoc />
    public override int Depth { get; } = 1 + MaxDepth(Arguments.Select(a => a.Value));
}

/// <summary>Left-hand side of an assignment: identifiers grouped as written.</summary>
/// <param name="Names">Identifiers in order.</param>
/// <param name="Form">How they were grouped.</param>
internal sealed record LValue(IReadOnlyList<string> Names, OutputForm Form);

/// <summary><c>lhs = rhs;</c>.</summary>
internal sealed record Assignment(LValue Left, Expr Right, int Line, int Column);

/// <summary>A fragment parameter as declared.</summary>
internal sealed record ParameterDecl(string Name, string Type, Expr? Default);

/// <summary><c>fragment name&lt;?=T&gt;(params) -&gt; (results) { body }</c>, body null when declared with <c>;</c>.</summary>
internal sealed record FragmentDecl(
    string Name,
    string? Generic,
    IReadOnlyList<ParameterDecl> Parameters,
    IReadOnlyList<(string Name, string Type)> Results,
    IReadOnlyList<Assignment>? Body,
    int Line,
    int Column);

/// <summary><c>graph name(inputs) -&gt; (outputs) { body }</c>.</summary>
internal sealed record GraphDecl(
    string Name,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyList<Assignment> Body);

/// <summary>An <c>extension</c> line: the text after the keyword.</summary>
internal sealed record ExtensionDecl(string Text, int Line, int Column);

/// <summary>A whole <c>graph.nnef</c> document.</summary>
internal sealed record Document(
    string Version,
    IReadOnlyList<ExtensionDecl> Extensions,
    IReadOnlyList<FragmentDecl> Fragments,
    GraphDecl Graph);
