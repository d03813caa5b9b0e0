using TorchToNnef.Ir;
using TorchToNnef.Quant;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Compression;

/// <summary>A weight the compressor quantized.</summary>
/// <param name="Label">Its label (the <c>.dat</c> name).</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Kinds">How the graph uses it.</param>
/// <param name="FloatBytes">Size before.</param>
/// <param name="QuantizedBytes">Size after.</param>
public sealed record QuantizedWeight(string Label, Shape Shape, IReadOnlyList<WeightKind> Kinds, long FloatBytes, long QuantizedBytes);

/// <summary>A weight the method would select that stays float, and why.</summary>
/// <param name="Label">Its label.</param>
/// <param name="Reason">Why it was left float.</param>
public sealed record SkippedWeight(string Label, string Reason);

/// <summary>What <see cref="GraphCompressor.Compress"/> did.</summary>
/// <param name="Graph">The compressed graph (a new object; the input is not modified).</param>
/// <param name="Quantized">Weights now stored as Q4_0.</param>
/// <param name="Skipped">Weights left float with a reason (to be shown as warnings).</param>
public sealed record CompressionResult(Graph Graph, IReadOnlyList<QuantizedWeight> Quantized, IReadOnlyList<SkippedWeight> Skipped);

/// <summary>
/// Applies a compression method to an existing graph, as torch_to_nnef's compression registry does to a PyTorch
/// model: each float variable read only as a linear/matmul weight, a conv kernel or an embedding table (see
/// <see cref="WeightUse"/>) whose kinds the method all selects becomes a Q4_0 variable (printed without generic, as
/// torch_to_nnef does); an embedding gather on it gets the <c>datum_type</c> tract then requires. A weight shared by
/// several consumers is quantized once and stays shared; one the method selects for some uses but not others, or
/// that is not eligible (shape, dtype), stays float and is reported.
/// </summary>
public static class GraphCompressor
{
    /// <summary>
    /// Compresses <paramref name="graph"/>: each selected weight's source becomes the method's lazily quantized
    /// <see cref="DType.Q40"/> source over the float one, so nothing is quantized until the graph is written or
    /// evaluated (and then once per write). Which <c>.dat</c> encoding a tract release reads is the writer's concern.
    /// </summary>
    /// <param name="graph">The graph (not modified).</param>
    /// <param name="method">Which weights to quantize, and how.</param>
    /// <param name="quantizeOptions">
    /// How each weight is quantized when it is consumed (threads, <see cref="Q40QuantizeOptions.AllowNonFinite"/>); by
    /// default a block whose f16 scale is not finite fails the write, naming the weight.
    /// </param>
    public static CompressionResult Compress(Graph graph, CompressionMethod method, Q40QuantizeOptions? quantizeOptions = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(method);
        Graph g = graph.Clone();
        GraphIndex index = g.Index();
        var resolver = new OperatorResolver(g);

        // Variable nodes sharing one data source (tied weights written under one label) are decided together.
        var groups = g.Nodes
            .Where(n => n.Op == Graph.VariableOp && g.Variables.ContainsKey(n.Name))
            .GroupBy(n => g.Variables[n.Name].Source, ReferenceEqualityComparer.Instance)
            .ToList();

        var quantized = new List<QuantizedWeight>();
        var skipped = new List<SkippedWeight>();
        foreach (var group in groups)
        {
            var source = (TensorSource)group.Key!;
            if (!source.DType.IsFloat())
            {
                continue;
            }

            string label = g.Variables[group.First().Name].Label;
            List<WeightUse.Use> uses = [.. group.SelectMany(n => WeightUse.Find(g, n.Name, source.Shape.Rank, index, resolver))];
            if (uses.Count == 0 || uses.All(u => u.Kind is null) || group.Any(n => g.Quantization.ContainsKey(n.Name)))
            {
                continue; // Not a weight of a layer (bias, norm, constant): nothing to report, as torch_to_nnef.
            }

            List<WeightKind> kinds = [.. uses.Where(u => u.Kind is not null).Select(u => u.Kind!.Value).Distinct().Order()];
            if (!kinds.Any(method.Selects))
            {
                continue;
            }

            string? reason = null;
            if (uses.FirstOrDefault(u => u.Kind is null) is { } other)
            {
                reason = $"it is also read by '{other.Consumer.Op}' ({other.Consumer.Name}), which cannot take Q4_0 data";
            }
            else if (kinds.Where(k => !method.Selects(k)).Select(k => (WeightKind?)k).FirstOrDefault() is WeightKind notSelected)
            {
                reason = $"it is shared with a {notSelected} use that '{method.Key}' does not quantize";
            }
            else if (!method.IsEligible(source, out string? why))
            {
                reason = why;
            }

            if (reason is not null)
            {
                skipped.Add(new SkippedWeight(label, reason));
                continue;
            }

            TensorSource compressed = method.QuantizeLazily(source, label, quantizeOptions);
            foreach (Node n in group)
            {
                g.Variables[n.Name].Source = compressed;
                n.Generic = null;
            }

            OperatorSchema gather = OperatorCatalog.Find(OperatorCatalog.CoreRegistry, "tract_core_gather")!;
            foreach (WeightUse.Use use in uses.Where(u => u.Kind == WeightKind.Embedding && gather.Explicit(u.Consumer, "datum_type") is null))
            {
                // tract: "Gather applied to compressed data requires an explicit datum_type" (the float type it had).
                use.Consumer.With("datum_type", Arg.String(source.DType == DType.F16 ? "f16" : "f32"));
            }

            quantized.Add(new QuantizedWeight(label, source.Shape, kinds, source.ByteLength, compressed.ByteLength));
        }

        return new CompressionResult(g, quantized, skipped);
    }
}
