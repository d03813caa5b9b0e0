using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef.Archive;
using TorchToNnef.Formats.Nnef.Text;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Nnef;

/// <summary>
/// Reads and writes NNEF archives as tract loads them: <c>graph.nnef</c>, one <c>.dat</c> per variable label,
/// optional <c>graph.quant</c>, in a directory or a (gzip-compressed) tar.
/// </summary>
public static partial class NnefArchive
{
    /// <summary>
    /// Loads an archive into the IR: a directory (or the path of its <c>graph.nnef</c>), or a <c>.nnef.tgz</c> /
    /// <c>.nnef.tar</c> file. Variable data stays lazy and is never held in memory: <c>.dat</c> files of a directory
    /// and members of a <c>.tar</c> are memory-mapped when read (and streamed a window at a time); a <c>.tgz</c> is decompressed
    /// once, and the payloads its variables read are copied to an unnamed temporary file (in <c>TMPDIR</c>, gone
    /// when the graph is collected or the process ends) and mapped from there. Only regular files are read.
    /// </summary>
    /// <exception cref="InvalidInputFileException">Malformed text, <c>.dat</c> or archive (with a size it does not hold,
    /// or a gzip stream that expands more than a hundredfold); a FIFO or device; a variable without data or with a
    /// mismatched shape.</exception>
    /// <exception cref="UnsupportedFeatureException">Valid NNEF this reader does not support.</exception>
    /// <exception cref="FileNotFoundException">Nothing at <paramref name="path"/>.</exception>
    public static Graph Read(string path) => Read(path, null);

    /// <summary>As <see cref="Read(string)"/>, with options (e.g. <see cref="NnefReadOptions.HeadersOnly"/>).</summary>
    public static Graph Read(string path, NnefReadOptions? options) =>
        Bind(ArchiveResources.Open(path, options?.HeadersOnly ?? false));

    /// <summary>
    /// Loads an archive from a tar or gzip-compressed tar stream, read sequentially, once; the payloads its variables
    /// read are copied to an unnamed temporary file.
    /// </summary>
    /// <param name="stream">The archive bytes.</param>
    /// <param name="name">Name used in error messages.</param>
    public static Graph Read(Stream stream, string name) => Bind(ArchiveResources.FromStream(stream, name, headersOnly: false));

    private static Graph Bind(ArchiveResources resources)
    {
        Graph graph = resources.Graph;
        Dictionary<string, List<string>> bindings = resources.Bindings;
        if (resources.QuantText is not null)
        {
            foreach ((string key, QuantInfo info) in GraphQuantText.Parse(resources.QuantText, resources.QuantLocation))
            {
                // An entry applies to every binding of its identifier, as tract looks entries up by name.
                foreach (string name in bindings.TryGetValue(key, out List<string>? irNames) ? irNames : [key])
                {
                    graph.Quantization[name] = info;
                }
            }
        }

        foreach (Node node in graph.Nodes)
        {
            if (node.Op == Graph.VariableOp)
            {
                BindVariable(graph, node, resources);
            }
        }

        return graph;
    }

    private static void BindVariable(Graph graph, Node node, ArchiveResources resources)
    {
        string where = resources.GraphLocation;
        if (node.Outputs.Count != 1)
        {
            throw new InvalidInputFileException(where, node.Name, "a variable defines exactly one value");
        }

        OperatorSchema variable = OperatorCatalog.Find(OperatorCatalog.NnefRegistry, Graph.VariableOp)!;
        if (variable.Argument(node, "label") is not StringLiteral { Value: string label })
        {
            throw new InvalidInputFileException(where, node.Name, "variable has no string label");
        }

        if (variable.Argument(node, "shape") is not ArrayArg shapeArg || shapeArg.Items.Any(i => i is not IntLiteral))
        {
            throw new InvalidInputFileException(where, node.Name, "variable shape must be a list of integers");
        }

        long[] dims = [.. shapeArg.Items.Cast<IntLiteral>().Select(i => i.Value)];
        if (!resources.Dats.TryGetValue(label, out DatTensorSource? source)
            && !(label.StartsWith('/') && resources.Dats.TryGetValue(label.TrimStart('/'), out source)))
        {
            throw new InvalidInputFileException(resources.Origin, label, $"no data file '{label}.dat' for variable '{node.Name}'");
        }

        if (!source.Shape.Dims.SequenceEqual(dims))
        {
            throw new InvalidInputFileException(
                source.Location, label, $"shape {source.Shape} in the .dat file differs from [{string.Join(", ", dims)}] declared for '{node.Name}'");
        }

        if (graph.Quantization.TryGetValue(node.Name, out QuantInfo? q)
            && (source.DType.IsBlockQuantized() || source.DType.ElementSize() * 8 != q.Bits))
        {
            throw new InvalidInputFileException(
                source.Location, label, $"{source.DType.Name()} data cannot carry the {q.Bits}-bit quantization of graph.quant");
        }

        graph.Variables[node.Name] = new Variable(label, source);
    }
}
