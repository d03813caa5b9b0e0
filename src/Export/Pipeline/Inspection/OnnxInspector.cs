using TorchToNnef.Formats.Onnx;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Pipeline;

/// <summary>An ONNX model (<c>.onnx</c>), with its external data files if it has any.</summary>
internal sealed class OnnxInspector : IModelInspector
{
    public string Kind => "onnx";

    public bool CanInspect(string path) => File.Exists(path) && path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);

    public InspectReport Inspect(string path)
    {
        // Loading validates structure, tensor sizes and external data ranges; payloads stay mapped and untouched.
        using OnnxModel model = OnnxModel.Load(path);
        OnnxGraph g = model.Graph;
        var stored = new List<OnnxTensor>(g.InitializerList);
        stored.AddRange(g.Nodes.Where(n => n.OpType == "Constant" && n.Domain.Length == 0).Select(OnnxConstants.Value));
        InspectTensor[] tensors =
        [
            .. stored.Select(t => new InspectTensor(t.Name, t.DType.Name(), t.Shape.ToArray(), t.Shape.ElementCount, t.ByteLength,
                t.ExternalPath is null ? null : System.IO.Path.GetFileName(t.ExternalPath))),
        ];

        var files = new List<InspectFile>
        {
            new(path, stored.Count(t => t.ExternalPath is null), model.FileLength, model.Metadata),
        };
        foreach (IGrouping<string, OnnxTensor> external in stored.Where(t => t.ExternalPath is not null).GroupBy(t => t.ExternalPath!, StringComparer.Ordinal))
        {
            files.Add(new InspectFile(external.Key, external.Count(), new FileInfo(external.Key).Length, new Dictionary<string, string>()));
        }

        var properties = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ir_version"] = model.IrVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["opsets"] = string.Join(", ", model.OpsetImports.Select(o => $"{(o.Domain.Length == 0 ? "ai.onnx" : o.Domain)} {o.Version}")),
            ["producer"] = $"{model.ProducerName} {model.ProducerVersion}".Trim(),
        };
        InspectTotals totals = InspectTotals.Of(tensors);
        var graph = new InspectGraph(
            [.. g.RuntimeInputs.Select(Value)],
            [.. g.Outputs.Select(o => o.Name)],
            Registries: [],
            Symbols: [.. g.RuntimeInputs.Concat(g.Outputs).SelectMany(v => v.Shape ?? []).Where(d => d.Symbol is not null).Select(d => d.Symbol!).Distinct(StringComparer.Ordinal)],
            Assertions: [],
            [.. g.OperatorHistogram().Select(p => new InspectOperatorCount(p.Key, p.Value, Fragment: false))
                .OrderByDescending(o => o.Count).ThenBy(o => o.Op, StringComparer.Ordinal)],
            Fragments: [],
            Quantization: [],
            totals.Parameters == 0 ? 0 : 8.0 * totals.Bytes / totals.Parameters,
            Q40Parameters: 0);
        return new InspectReport(Kind, path, files, tensors, totals, Config: null, properties, graph);
    }

    private static InspectValue Value(OnnxValueInfo v) =>
        new(v.Name,
            v.ElementType.TryGetDType(out DType d) ? d.Name() : v.ElementType.Name().ToLowerInvariant(),
            v.Shape is null ? [] : [.. v.Shape.Select(s => s.ToString())]);
}
