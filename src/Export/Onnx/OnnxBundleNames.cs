using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx;

/// <summary>
/// Lets an input/output bundle keyed by the ONNX model's names (as ONNX Runtime writes them) check an archive made by
/// <c>t2n export</c>: the archive's <see cref="OnnxIoRecord"/> maps each ONNX name to its NNEF identifier, and inputs
/// frozen at export are accepted only with the frozen value.
/// </summary>
public static class OnnxBundleNames
{
    /// <summary>
    /// <paramref name="arrays"/> with ONNX names replaced by the NNEF identifiers of <paramref name="graph"/> (NNEF
    /// names are kept as they are; arrays for frozen inputs are dropped after checking their value; other arrays are
    /// kept). <paramref name="usedOnnxNames"/> tells whether any name was an ONNX name.
    /// </summary>
    /// <exception cref="InvalidInputFileException">A frozen input is given another value, or a value is given under both names.</exception>
    public static List<NamedTensor> ToNnef(Graph graph, IReadOnlyList<NamedTensor> arrays, out bool usedOnnxNames)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(arrays);
        usedOnnxNames = false;
        OnnxIoRecord? record = OnnxIoRecord.ReadFrom(graph);
        if (record is null)
        {
            return [.. arrays];
        }

        var nnefNames = record.Inputs.Concat(record.Outputs).Select(n => n.Nnef).ToHashSet(StringComparer.Ordinal);
        var byOnnx = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (IoName n in record.Inputs.Concat(record.Outputs))
        {
            byOnnx.TryAdd(n.Onnx, n.Nnef);
        }

        var frozen = record.Frozen.ToDictionary(f => f.Onnx, StringComparer.Ordinal);
        var given = arrays.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        var result = new List<NamedTensor>();
        foreach (NamedTensor a in arrays)
        {
            if (nnefNames.Contains(a.Name))
            {
                result.Add(a);
            }
            else if (byOnnx.TryGetValue(a.Name, out string? nnef))
            {
                if (given.Contains(nnef))
                {
                    throw new InvalidInputFileException(null, a.Name, $"the bundle gives this value under its ONNX name and under its NNEF name '{nnef}'");
                }

                usedOnnxNames = true;
                result.Add(a with { Name = nnef });
            }
            else if (frozen.TryGetValue(a.Name, out FrozenInput? f))
            {
                CheckFrozen(f, a.Value);
                usedOnnxNames = true;
            }
            else
            {
                result.Add(a);
            }
        }

        return result;
    }

    /// <summary>Graph outputs renamed to the ONNX names recorded in <paramref name="graph"/> (unchanged without a record).</summary>
    public static List<NamedTensor> ToOnnx(Graph graph, IReadOnlyList<NamedTensor> outputs)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(outputs);
        OnnxIoRecord? record = OnnxIoRecord.ReadFrom(graph);
        if (record is null)
        {
            return [.. outputs];
        }

        var byNnef = record.Outputs.ToDictionary(n => n.Nnef, n => n.Onnx, StringComparer.Ordinal);
        return [.. outputs.Select(o => byNnef.TryGetValue(o.Name, out string? onnx) ? o with { Name = onnx } : o)];
    }

    private static void CheckFrozen(FrozenInput frozen, TensorValue given)
    {
        using Tensor expected = frozen.ToTensor();
        float[] want = TensorValue.FromTensor(expected).ToFloats();
        float[] got = given.ToFloats();
        long[] shape = [.. given.Shape.ToArray().Select(d => (long)d)];
        if (!shape.SequenceEqual(frozen.Shape) || !want.SequenceEqual(got))
        {
            throw new InvalidInputFileException(null, frozen.Onnx,
                $"this input was frozen at export to {frozen.DType}[{string.Join(", ", frozen.Shape)}] {{{string.Join(", ", want.Take(8))}}}; the bundle gives [{string.Join(", ", shape)}] {{{string.Join(", ", got.Take(8))}}}: re-export with that --input-value");
        }
    }
}
