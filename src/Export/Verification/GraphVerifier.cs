using System.Diagnostics;
using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;

namespace TorchToNnef.Export.Verification;

/// <summary>The result of checking a graph against a reference bundle.</summary>
/// <param name="Outputs">One comparison per graph output, in graph order.</param>
/// <param name="Elapsed">Time spent evaluating the graph (not loading or comparing).</param>
public sealed record VerificationReport(IReadOnlyList<OutputComparison> Outputs, TimeSpan Elapsed)
{
    /// <summary>True when every output passed.</summary>
    public bool Passed => Outputs.All(o => o.Passed);
}

/// <summary>
/// torch_to_nnef's check-io, without tract: feed the bundle's inputs to the graph (by name, f32 cast to f16 inputs as
/// <c>--allow-float-casts</c>), evaluate it with <see cref="GraphEvaluator"/>, and compare every graph output with the
/// bundle array of the same name (<see cref="OutputComparison.Compare"/>).
/// </summary>
public static class GraphVerifier
{
    /// <summary>Runs and compares; a bundle without a reference for some graph output is an error, as in tract.</summary>
    /// <exception cref="InvalidGraphException">The graph cannot be evaluated with these inputs, or an output has no reference.</exception>
    public static VerificationReport Verify(Graph graph, IReadOnlyList<NamedTensor> bundle, Approximation level, EvaluationOptions? options = null)
    {
        options ??= new EvaluationOptions();
        var evaluator = new GraphEvaluator(graph, options);
        var byName = bundle.GroupBy(t => t.Name).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);
        foreach (string output in evaluator.Outputs)
        {
            if (!byName.ContainsKey(output))
            {
                throw new InvalidGraphException(output, $"the reference bundle has no array for this graph output (it has: {string.Join(", ", byName.Keys)})");
            }
        }

        List<NamedTensor> inputs = evaluator.Inputs.Where(i => byName.ContainsKey(i.Name)).Select(i => new NamedTensor(i.Name, byName[i.Name])).ToList();
        var clock = Stopwatch.StartNew();
        IReadOnlyList<NamedTensor> got = evaluator.Run(inputs);
        clock.Stop();
        List<OutputComparison> comparisons = got
            .Select(o => OutputComparison.Compare(o.Name, byName[o.Name], o.Value, level, options.AllowFloatCasts))
            .ToList();
        return new VerificationReport(comparisons, clock.Elapsed);
    }
}
