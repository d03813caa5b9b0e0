using TorchToNnef.Errors;
using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Nnef.Text;

/// <summary>
/// <c>graph.nnef</c> text to IR. The result has every node, fragment, extension and property but no variable data:
/// <see cref="NnefArchive"/> binds the <c>.dat</c> files. Re-assigned identifiers are renamed (all bindings but
/// the last, see <see cref="LoweringScope"/>); infix operators and nested calls become nodes with generated names.
/// </summary>
public static class GraphText
{
    /// <summary>Parses a document.</summary>
    /// <param name="text">The whole <c>graph.nnef</c>.</param>
    /// <param name="file">File name used in error messages.</param>
    /// <exception cref="InvalidInputFileException">Malformed text, with line and column.</exception>
    /// <exception cref="UnsupportedFeatureException">Syntax tract parses but cannot load (subscripts, comprehensions, if/else).</exception>
    public static Graph Parse(string text, string? file = null) => Parse(text, file, out _);

    /// <summary>Parses a document and reports, for each graph-body identifier, the IR names of its bindings.</summary>
    internal static Graph Parse(string text, string? file, out Dictionary<string, List<string>> bindings)
    {
        Document doc = new NnefParser(text, file).ParseDocument();
        return GraphLowering.Build(doc, file, out bindings);
    }
}
