using System.Text.Json;
using TorchToNnef.Formats.HuggingFace;

namespace TorchToNnef.Export.Pipeline;

/// <summary>
/// What <see cref="ModelPipeline.Inspect"/> (and <c>t2n inspect</c>) reports about one input, whatever its format: the
/// files read, every tensor, totals and the model configuration when there is one. Each inspector fills one in;
/// formatters (text, <see cref="ToJson"/>) only see this model.
/// </summary>
/// <param name="Kind">Input kind, e.g. <c>safetensors</c>.</param>
/// <param name="Path">The path inspected, as given.</param>
/// <param name="Files">Files the tensors come from (shards, archives).</param>
/// <param name="Tensors">Every tensor, in file order.</param>
/// <param name="Totals">Counts and sizes, overall and per dtype.</param>
/// <param name="Config">Summary of <c>config.json</c>, when present.</param>
/// <param name="Properties">Format-specific facts (for example an NNEF archive's tract properties).</param>
/// <param name="Graph">The computation graph, for inputs that have one (NNEF).</param>
public sealed record InspectReport(
    string Kind,
    string Path,
    IReadOnlyList<InspectFile> Files,
    IReadOnlyList<InspectTensor> Tensors,
    InspectTotals Totals,
    ModelConfigSummary? Config,
    IReadOnlyDictionary<string, string>? Properties = null,
    InspectGraph? Graph = null)
{
    /// <summary>The report as indented JSON with snake_case names (source-generated, AOT-safe).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, InspectJsonContext.Default.InspectReport);
}

/// <summary>
/// The graph of an NNEF model: signature with symbolic shapes, extensions, operator histogram, fragments,
/// <c>graph.quant</c> entries and the storage cost of its weights.
/// </summary>
/// <param name="Inputs">Graph inputs in order, with dtype and shape (symbols such as <c>S</c> kept).</param>
/// <param name="Outputs">Graph outputs in order.</param>
/// <param name="Registries">Activated tract operator registries.</param>
/// <param name="Symbols">Declared symbols.</param>
/// <param name="Assertions">Assertions on symbols, as tract writes them.</param>
/// <param name="Operators">Statements per operator, most frequent first.</param>
/// <param name="Fragments">Fragments defined by the document.</param>
/// <param name="Quantization">8-bit (or 32-bit) quantization entries of graph.quant.</param>
/// <param name="BitsPerWeight">Average stored bits per weight parameter over all variables.</param>
/// <param name="Q40Parameters">Parameters stored as Q4_0.</param>
public sealed record InspectGraph(
    IReadOnlyList<InspectValue> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyList<string> Registries,
    IReadOnlyList<string> Symbols,
    IReadOnlyList<string> Assertions,
    IReadOnlyList<InspectOperatorCount> Operators,
    IReadOnlyList<string> Fragments,
    IReadOnlyList<InspectQuantization> Quantization,
    double BitsPerWeight,
    long Q40Parameters);

/// <summary>A graph input: name, dtype and dimensions (integers or symbol expressions).</summary>
public sealed record InspectValue(string Name, string Dtype, IReadOnlyList<string> Shape);

/// <summary>How many statements invoke an operator; <see cref="Fragment"/> when the document defines it.</summary>
public sealed record InspectOperatorCount(string Op, int Count, bool Fragment);

/// <summary>One <c>graph.quant</c> entry: <c>real = (q - ZeroPoint) * Scale</c>.</summary>
public sealed record InspectQuantization(string Tensor, string Dtype, long ZeroPoint, double Scale, int Bits, bool Signed);

/// <summary>One file of the input.</summary>
public sealed record InspectFile(string Path, int Tensors, long Bytes, IReadOnlyDictionary<string, string> Metadata);

/// <summary>One tensor: dtype in tract spelling (<c>f32</c>, <c>bf16</c>, <c>q40</c>), logical shape, payload bytes.</summary>
public sealed record InspectTensor(string Name, string Dtype, IReadOnlyList<long> Shape, long Parameters, long Bytes, string? File);

/// <summary>Totals for a group of tensors.</summary>
public sealed record InspectDTypeTotal(string Dtype, int Tensors, long Parameters, long Bytes);

/// <summary>Overall totals and the breakdown per dtype (largest first).</summary>
public sealed record InspectTotals(int Tensors, long Parameters, long Bytes, IReadOnlyList<InspectDTypeTotal> ByDtype)
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
