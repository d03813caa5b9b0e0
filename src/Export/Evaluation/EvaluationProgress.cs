namespace TorchToNnef.Export.Evaluation;

/// <summary>How far an evaluation is: statements of the graph body done (fragment bodies count as their invocation).</summary>
/// <param name="Statements">Statements of the graph body evaluated so far.</param>
/// <param name="StatementCount">Statements in the graph body.</param>
/// <param name="Node">The statement just evaluated (its node name).</param>
public readonly record struct EvaluationProgress(int Statements, int StatementCount, string Node);
