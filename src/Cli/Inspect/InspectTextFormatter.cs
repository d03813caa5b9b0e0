using System.Globalization;
using TorchToNnef.Export.Pipeline;
using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.IO;

namespace TorchToNnef.Cli.Inspect;

/// <summary>
/// Human-readable rendering of an <see cref="InspectReport"/>: files, a tensor table, totals, config. Every string that
/// comes from the inspected files (names, paths, metadata, properties, config values) goes through <see cref="E"/>.
/// </summary>
internal static class InspectTextFormatter
{
    public static void Write(InspectReport report, TextWriter w)
    {
        w.WriteLine($"{E(report.Path)}: {E(report.Kind)}, {Plural(report.Files.Count, "file")}");
        foreach (InspectFile f in report.Files)
        {
            string meta = f.Metadata.Count == 0 ? string.Empty : ", metadata " + string.Join(" ", f.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{E(kv.Key)}={E(kv.Value)}"));
            w.WriteLine($"  {E(Path.GetFileName(f.Path))}: {Plural(f.Tensors, "tensor")}, {Bytes(f.Bytes)}{meta}");
        }

        w.WriteLine();
        WriteTable(report.Tensors, w);
        w.WriteLine();
        InspectTotals t = report.Totals;
        w.WriteLine($"total: {Plural(t.Tensors, "tensor")}, {Count(t.Parameters)} parameters, {Bytes(t.Bytes)}");
        foreach (InspectDTypeTotal d in t.ByDtype)
        {
            w.WriteLine($"  {E(d.Dtype)}: {Plural(d.Tensors, "tensor")}, {Count(d.Parameters)} parameters, {Bytes(d.Bytes)}");
        }

        if (report.Graph is not null)
        {
            w.WriteLine();
            WriteGraph(report.Graph, w);
        }

        if (report.Properties is { Count: > 0 })
        {
            w.WriteLine();
            w.WriteLine("properties:");
            foreach ((string key, string value) in report.Properties)
            {
                w.WriteLine($"  {E(key)}: {E(value)}");
            }
        }

        if (report.Config is not null)
        {
            w.WriteLine();
            WriteConfig(report.Config, w);
        }
    }

    private static void WriteTable(IReadOnlyList<InspectTensor> tensors, TextWriter w)
    {
        bool withFile = tensors.Any(x => x.File is not null);
        string[] names = tensors.Select(x => E(x.Name)).ToArray();
        string[] dtypes = tensors.Select(x => E(x.Dtype)).ToArray();
        int nameWidth = Math.Max(6, names.Length == 0 ? 0 : names.Max(x => x.Length));
        int dtypeWidth = Math.Max(5, dtypes.Length == 0 ? 0 : dtypes.Max(x => x.Length));
        string[] shapes = tensors.Select(x => "[" + string.Join(", ", x.Shape) + "]").ToArray();
        int shapeWidth = Math.Max(5, shapes.Length == 0 ? 0 : shapes.Max(s => s.Length));
        string fileHeader = withFile ? "  file" : string.Empty;
        w.WriteLine($"{"tensor".PadRight(nameWidth)}  {"dtype".PadRight(dtypeWidth)}  {"shape".PadRight(shapeWidth)}  {"bytes",14}{fileHeader}");
        for (int i = 0; i < tensors.Count; i++)
        {
            InspectTensor x = tensors[i];
            string file = withFile ? "  " + E(x.File) : string.Empty;
            w.WriteLine($"{names[i].PadRight(nameWidth)}  {dtypes[i].PadRight(dtypeWidth)}  {shapes[i].PadRight(shapeWidth)}  {x.Bytes,14}{file}");
        }
    }

    private static void WriteGraph(InspectGraph g, TextWriter w)
    {
        w.WriteLine($"graph: {Plural(g.Inputs.Count, "input")}, {Plural(g.Outputs.Count, "output")}, {Plural(g.Operators.Sum(o => o.Count), "statement")}");
        foreach (InspectValue i in g.Inputs)
        {
            w.WriteLine($"  input {E(i.Name)}: {E(i.Dtype)} [{E(string.Join(", ", i.Shape))}]");
        }

        w.WriteLine($"  outputs: {E(string.Join(", ", g.Outputs))}");
        Line(w, "registries", g.Registries.Count == 0 ? null : string.Join(", ", g.Registries));
        Line(w, "symbols", g.Symbols.Count == 0 ? null : string.Join(", ", g.Symbols));
        foreach (string a in g.Assertions)
        {
            w.WriteLine($"  assert: {E(a)}");
        }

        Line(w, "fragments", g.Fragments.Count == 0 ? null : string.Join(", ", g.Fragments));
        w.WriteLine("  operators:");
        foreach (InspectOperatorCount o in g.Operators)
        {
            w.WriteLine($"    {E(o.Op)}{(o.Fragment ? " (fragment)" : string.Empty)}: {Count(o.Count)}");
        }

        if (g.Quantization.Count > 0)
        {
            w.WriteLine("  graph.quant:");
            foreach (InspectQuantization q in g.Quantization)
            {
                w.WriteLine($"    {E(q.Tensor)}: {E(q.Dtype)} zero_point={q.ZeroPoint} scale={q.Scale.ToString("R", CultureInfo.InvariantCulture)}");
            }
        }

        w.WriteLine($"  weights: {g.BitsPerWeight.ToString("0.###", CultureInfo.InvariantCulture)} bits per parameter, {Count(g.Q40Parameters)} parameters in Q4_0");
    }

    private static void WriteConfig(ModelConfigSummary c, TextWriter w)
    {
        w.WriteLine("config.json:");
        Line(w, "model_type", c.ModelType);
        Line(w, "architectures", c.Architectures.Count == 0 ? null : string.Join(", ", c.Architectures));
        Line(w, "hidden_size", c.HiddenSize);
        Line(w, "intermediate_size", c.IntermediateSize);
        Line(w, "layers", c.NumHiddenLayers);
        Line(w, "attention_heads", c.NumAttentionHeads);
        Line(w, "kv_heads", c.NumKeyValueHeads);
        Line(w, "head_dim", c.HeadDim);
        Line(w, "vocab_size", c.VocabSize);
        Line(w, "max_position_embeddings", c.MaxPositionEmbeddings);
        Line(w, "tie_word_embeddings", c.TieWordEmbeddings is null ? null : c.TieWordEmbeddings.Value ? "true" : "false");
        Line(w, "rms_norm_eps", c.RmsNormEps?.ToString("R", CultureInfo.InvariantCulture).ToLowerInvariant());
        Line(w, "dtype", c.Dtype);
        if (c.Rope.Count > 0)
        {
            Line(w, "rope", string.Join(" ", c.Rope.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}")));
        }
    }

    private static void Line(TextWriter w, string key, long? value) => Line(w, key, value?.ToString(CultureInfo.InvariantCulture));

    private static void Line(TextWriter w, string key, string? value)
    {
        if (value is not null)
        {
            w.WriteLine($"  {key}: {E(value)}");
        }
    }

    private static string E(string? text) => TerminalText.Escape(text);

    private static string Plural(long n, string noun) => $"{Count(n)} {noun}{(n == 1 ? string.Empty : "s")}";

    private static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Exact byte count, plus a binary-unit size when that reads better.</summary>
    internal static string Bytes(long n)
    {
        string exact = Count(n) + " bytes";
        string[] units = ["KiB", "MiB", "GiB", "TiB"];
        double v = n;
        int unit = -1;
        while (v >= 1024 && unit < units.Length - 1)
        {
            v /= 1024;
            unit++;
        }

        return unit < 0 ? exact : $"{exact} ({v.ToString("0.0", CultureInfo.InvariantCulture)} {units[unit]})";
    }
}
