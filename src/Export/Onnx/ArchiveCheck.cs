using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Verification;

namespace TorchToNnef.Export.Onnx;

/// <summary>
/// <c>t2n export --check-io</c>: the translated graph and the archive written from it, re-read from disk, are run on
/// the same random inputs and their outputs compared. It catches writer and reader faults (numerical fidelity to ONNX
/// is what the test suite checks against ONNX Runtime).
/// </summary>
public static class ArchiveCheck
{
    /// <summary>Runs both graphs on seeded random inputs and compares every output at <paramref name="level"/>.</summary>
    /// <exception cref="UnsupportedFeatureException">An input has symbolic dimensions (random inputs need concrete shapes).</exception>
    public static IReadOnlyList<OutputComparison> Run(Graph translated, Graph reread, Approximation level, int seed = 0, EvaluationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(translated);
        ArgumentNullException.ThrowIfNull(reread);
        options ??= new EvaluationOptions();
        var before = new GraphEvaluator(translated, options);
        var after = new GraphEvaluator(reread, options);
        var rng = new Random(seed);
        var inputs = new List<NamedTensor>();
        foreach (GraphInput input in before.Inputs)
        {
            if (input.Shape.Any(d => !d.IsConstant))
            {
                throw new UnsupportedFeatureException(null, input.Name,
                    $"--check-io needs concrete input shapes, this input is [{string.Join(", ", input.Shape)}]: give it with --input-shape");
            }

            int[] shape = [.. input.Shape.Select(d => { d.TryGetConstant(out long v); return (int)v; })];
            int count = TensorValue.Volume(shape);
            TensorValue value = input.Type.IsFloat
                ? Cast.To(TensorValue.F32(shape, [.. Enumerable.Range(0, count).Select(_ => (rng.NextSingle() * 2) - 1)]), input.Type)
                : TensorValue.Zeros(input.Type, shape);
            inputs.Add(new NamedTensor(input.Name, value));
        }

        IReadOnlyList<NamedTensor> expected = before.Run(inputs);
        var got = after.Run(inputs).ToDictionary(o => o.Name, o => o.Value, StringComparer.Ordinal);
        return [.. expected.Select(e => got.TryGetValue(e.Name, out TensorValue? g)
            ? OutputComparison.Compare(e.Name, e.Value, g, level)
            : throw new InvalidGraphException(e.Name, "the re-read archive has no such output"))];
    }
}
