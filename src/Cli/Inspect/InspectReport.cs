using TorchToNnef.Formats.HuggingFace;

namespace TorchToNnef.Cli.Inspect;

/// <summary>
/// What <c>t2n inspect</c> reports about one input, whatever its format: the files read, every tensor, totals and
/// the model configuration when there is one. Each <see cref="IModelInspector"/> fills one in; the text and JSON
/// formatters only see this model.
/// </summary>
/// <param name="Kind">Input kind, e.g. <c>safetensors</c>.</param>
/// <param name="Path">The path given on the command line.</param>
/// <param name="Files">Files the tensors come from (shards, archives).</param>
/// <param name="Tensors">Every tensor, in file order.</param>
/// <param name="Totals">Counts and sizes, overall and per dtype.</param>
/// <param name="Config">Summary of <c>config.json</c>, when present.</param>
/// <param name="Properties">Format-specific facts (for example an NNEF archive's tract properties).</param>
internal sealed record InspectReport(
    string Kind,
    string Path,
    IReadOnlyList<InspectFile> Files,
    IReadOnlyList<InspectTensor> Tensors,
    InspectTotals Totals,
    ModelConfigSummary? Config,
    IReadOnlyDictionary<string, string>? Properties = null);

/// <summary>One file of the input.</summary>
internal sealed record InspectFile(string Path, int Tensors, long Bytes, IReadOnlyDictionary<string, string> Metadata);

/// <summary>One tensor: dtype in tract spelling (<c>f32</c>, <c>bf16</c>, <c>q40</c>), logical shape, payload bytes.</summary>
internal sealed record InspectTensor(string Name, string Dtype, IReadOnlyList<long> Shape, long Parameters, long Bytes, string? File);

/// <summary>Totals for a group of tensors.</summary>
internal sealed record InspectDTypeTotal(string Dtype, int Tensors, long Parameters, long Bytes);

/// <summary>Overall totals and the breakdown per dtype (largest first).</summary>
internal sealed record InspectTotals(int Tensors, long Parameters, long Bytes, IReadOnlyList<InspectDTypeTotal> ByDtype)
{
    /// <summary>Sums <paramref name="tensors"/>.</summary>
    public static InspectTotals Of(IReadOnlyList<InspectTensor> tensors)
    {
        InspectDTypeTotal[] byDtype = tensors
            .GroupBy(t => t.Dtype, StringComparer.Ordinal)
            .Select(g => new InspectDTypeTotal(g.Key, g.Count(), g.Sum(t => t.Parameters), g.Sum(t => t.Bytes)))
            .OrderByDescending(d => d.Bytes)
            .ThenBy(d => d.Dtype, StringComparer.Ordinal)
            .ToArray();
        return new InspectTotals(tensors.Count, tensors.Sum(t => t.Parameters), tensors.Sum(t => t.Bytes), byDtype);
    }
}
