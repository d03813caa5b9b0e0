using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Pipeline;

/// <summary>An NNEF model: a directory with <c>graph.nnef</c>, the path of a <c>graph.nnef</c>, or a <c>.tgz</c>/<c>.tar</c> archive.</summary>
internal sealed class NnefInspector : IModelInspector
{
    public string Kind => "nnef";

    public bool CanInspect(string path) =>
        Directory.Exists(path)
            ? File.Exists(System.IO.Path.Combine(path, "graph.nnef"))
            : File.Exists(path) && (System.IO.Path.GetFileName(path) == "graph.nnef"
                || path.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase)
                || path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase)
                || path.EndsWith(".tar", StringComparison.OrdinalIgnoreCase));

    public InspectReport Inspect(string path)
    {
        // Headers are validated on reading; payloads are skipped, so a .tgz of any size costs little memory.
        Graph graph = NnefArchive.Read(path, new NnefReadOptions { HeadersOnly = true });
        var tensors = new List<InspectTensor>();
        var labels = new HashSet<string>(StringComparer.Ordinal);
        foreach (Node n in graph.Nodes.Where(n => n.Op == Graph.VariableOp))
        {
            Variable v = graph.Variables[n.Name];
            if (labels.Add(v.Label))
            {
                string dtype = graph.Quantization.TryGetValue(n.Name, out QuantInfo? q) ? QuantDType(q) : v.DType.Name();
                tensors.Add(new InspectTensor(v.Label, dtype, v.Shape.ToArray(), v.Shape.ElementCount, v.Source.ByteLength, null));
            }
        }

        InspectTotals totals = InspectTotals.Of(tensors);
        long size = Directory.Exists(path) ? DirectorySize(path)
            : System.IO.Path.GetFileName(path) == "graph.nnef" ? DirectorySize(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!)
            : new FileInfo(path).Length;
        var file = new InspectFile(path, tensors.Count, size, new Dictionary<string, string>());
        var properties = graph.Properties.ToDictionary(p => p.Key, p => p.Value is StringLiteral s ? s.Value : p.Value.ToString()!, StringComparer.Ordinal);
        var fragmentNames = new HashSet<string>(graph.Fragments.Select(f => f.Name), StringComparer.Ordinal);

        var report = new InspectGraph(
            [.. graph.Nodes.Where(n => n.Op is Graph.ExternalOp or "external").Select(n => Input(graph, n))],
            graph.Outputs,
            graph.Registries,
            graph.Symbols,
            [.. graph.Assertions.Select(a => a.ToString())],
            [.. graph.Nodes.GroupBy(n => n.Op, StringComparer.Ordinal)
                .Select(g => new InspectOperatorCount(g.Key, g.Count(), fragmentNames.Contains(g.Key)))
                .OrderByDescending(o => o.Count).ThenBy(o => o.Op, StringComparer.Ordinal)],
            [.. graph.Fragments.Select(f => f.Name)],
            [.. graph.Quantization.OrderBy(q => q.Key, StringComparer.Ordinal)
                .Select(q => new InspectQuantization(q.Key, QuantDType(q.Value), q.Value.ZeroPoint, q.Value.Scale, q.Value.Bits, q.Value.Signed))],
            totals.Parameters == 0 ? 0 : 8.0 * totals.Bytes / totals.Parameters,
            tensors.Where(t => t.Dtype == "q40").Sum(t => t.Parameters));
        return new InspectReport(Kind, path, [file], tensors, totals, Config: null, properties, report);
    }

    private static InspectValue Input(Graph graph, Node n)
    {
        string dtype;
        IReadOnlyList<string> shape;
        try
        {
            dtype = graph.GetInputDType(n.Name).Name();
            shape = [.. graph.GetInputShape(n.Name).Select(d => d.ToString())];
        }
        catch (Errors.InvalidGraphException)
        {
            (dtype, shape) = ("?", []);
        }

        return new InspectValue(n.Name, dtype, shape);
    }

    private static string QuantDType(QuantInfo q) => (q.Bits, q.Signed) switch
    {
        (8, true) => "qi8",
        (8, false) => "qu8",
        (32, true) => "qi32",
        _ => "u32",
    };

    private static long DirectorySize(string dir) =>
        new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories).Where(f => !f.Name.StartsWith('.')).Sum(f => f.Length);
}
