using System.Globalization;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Translation;

internal sealed partial class Translator
{
    /// <summary>
    /// Declares the graph inputs and reserves the output identifiers: names made NNEF identifiers (unique), named ONNX
    /// dimensions become symbols (one per name, shared by the inputs that use it), unknown ones get a symbol of their own,
    /// shapes and values given in the options replace the declared ones.
    /// </summary>
    private (IReadOnlyList<IoName> Inputs, IReadOnlyList<IoName> Outputs, IReadOnlyList<FrozenInput> Frozen) DeclareSignature(OnnxGraph graph)
    {
        var runtimeNames = graph.RuntimeInputs.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        foreach (string name in _options.InputShapes.Keys.Concat(_options.InputValues.Keys))
        {
            if (!runtimeNames.Contains(name))
            {
                throw new UnsupportedFeatureException(File, null,
                    $"the model has no input '{name}' (its inputs: {string.Join(", ", graph.RuntimeInputs.Select(i => i.Name))})");
            }
        }

        List<OnnxValueInfo> live = [.. graph.RuntimeInputs.Where(i => !_options.InputValues.ContainsKey(i.Name))];
        IReadOnlyList<string> ids = NnefIdentifiers.MakeUnique(live.Select(i => i.Name).Concat(graph.Outputs.Select(o => o.Name)));
        var inputs = live.Select((v, i) => new IoName { Nnef = ids[i], Onnx = v.Name }).ToList();
        var outputs = graph.Outputs.Select((v, i) => new IoName { Nnef = ids[live.Count + i], Onnx = v.Name }).ToList();

        // Shapes first, so symbols get identifiers no input or output uses.
        var shapes = live.Select(InputShape).ToList();
        var symbolIds = new Dictionary<string, string>(StringComparer.Ordinal);
        var taken = new HashSet<string>(ids, StringComparer.Ordinal);
        for (int i = 0; i < live.Count; i++)
        {
            for (int axis = 0; axis < shapes[i].Length; axis++)
            {
                if (shapes[i][axis] is string symbol && !symbolIds.ContainsKey(symbol))
                {
                    string id = NnefIdentifiers.MakeUnique([symbol], taken)[0];
                    taken.Add(id);
                    symbolIds[symbol] = id;
                }
            }
        }

        foreach (string id in symbolIds.Values)
        {
            B.Symbol(id);
        }

        foreach (string id in ids)
        {
            B.Reserve(id);
        }

        for (int i = 0; i < live.Count; i++)
        {
            OnnxValueInfo info = live[i];
            Dim[] dims = [.. shapes[i].Select(d => d is string s ? Dim.Symbol(symbolIds[s]) : Dim.Of((long)d))];
            GraphValue value = B.Input(inputs[i].Nnef, Datum(InputDType(info)), dims);
            Define(info.Name, new RuntimeValue(value));
        }

        var frozen = new List<FrozenInput>();
        foreach (OnnxValueInfo info in graph.RuntimeInputs.Where(i => _options.InputValues.ContainsKey(i.Name)))
        {
            Known known = FrozenValue(info);
            frozen.Add(FrozenInput.Of(info.Name, known.ToTensor()));
            Define(info.Name, new ConstValue(info.Name, known));
            Note($"input '{info.Name}' frozen to {known}");
        }

        return (inputs, outputs, frozen);
    }

    private DType InputDType(OnnxValueInfo info)
    {
        if (info.Kind != OnnxValueKind.Tensor)
        {
            throw new UnsupportedFeatureException(File, info.Name, $"input of kind {info.Kind} (only tensors are supported)");
        }

        if (!info.ElementType.TryGetDType(out DType dtype) || dtype == DType.BF16)
        {
            throw new UnsupportedFeatureException(File, info.Name, $"input of element type {info.ElementType.Name()} has no tract type");
        }

        return dtype;
    }

    /// <summary>Per axis: a known size (long) or a symbol name (string).</summary>
    private object[] InputShape(OnnxValueInfo info)
    {
        if (_options.InputShapes.TryGetValue(info.Name, out IReadOnlyList<long>? given))
        {
            return [.. CheckedGivenShape(info, given).Select(d => (object)d)];
        }

        if (info.Shape is null)
        {
            throw new UnsupportedFeatureException(File, info.Name, "input declares no rank; give its shape with --input-shape");
        }

        return [.. info.Shape.Select((d, axis) => d.Value is long v ? (object)v : d.Symbol ?? $"{info.Name}_dim{axis}")];
    }

    private long[] CheckedGivenShape(OnnxValueInfo info, IReadOnlyList<long> given)
    {
        if (given.Any(d => d < 0))
        {
            throw new UnsupportedFeatureException(File, info.Name, $"given shape [{string.Join(", ", given)}] has a negative dimension");
        }

        if (info.Shape is not null)
        {
            if (info.Shape.Count != given.Count)
            {
                throw new UnsupportedFeatureException(File, info.Name,
                    $"given shape [{string.Join(", ", given)}] has rank {given.Count}, the model declares [{string.Join(", ", info.Shape)}]");
            }

            for (int axis = 0; axis < given.Count; axis++)
            {
                if (info.Shape[axis].Value is long fixedSize && fixedSize != given[axis])
                {
                    throw new UnsupportedFeatureException(File, info.Name,
                        $"given shape [{string.Join(", ", given)}] differs from the model's fixed dimension {fixedSize} on axis {axis}");
                }
            }
        }

        return [.. given];
    }

    private Known FrozenValue(OnnxValueInfo info)
    {
        DType dtype = InputDType(info);
        object[] shape = InputShape(info);
        if (shape.Any(d => d is string))
        {
            throw new UnsupportedFeatureException(File, info.Name,
                $"a frozen input needs a known shape, not [{string.Join(", ", shape)}]; give it with --input-shape");
        }

        long[] dims = [.. shape.Cast<long>()];
        long count = dims.Aggregate(1L, (a, d) => a * d);
        IReadOnlyList<double> values = _options.InputValues[info.Name];
        if (values.Count != count)
        {
            throw new UnsupportedFeatureException(File, info.Name,
                string.Create(CultureInfo.InvariantCulture, $"frozen value has {values.Count} element(s), the input's shape [{string.Join(", ", dims)}] holds {count}"));
        }

        if (!dtype.IsFloat() && values.Any(v => v != Math.Floor(v)))
        {
            throw new UnsupportedFeatureException(File, info.Name, $"frozen value of a {dtype.Name()} input must be integers");
        }

        return Known.Of(dtype, dims, values);
    }
}
