namespace TorchToNnef.Export.Onnx;

/// <summary>What <see cref="OnnxExporter.Translate"/> produced.</summary>
public sealed class OnnxExportResult
{
    internal OnnxExportResult(Graph graph, OnnxIoRecord io, IReadOnlyDictionary<string, int> operators, IReadOnlyList<string> notes)
    {
        Graph = graph;
        Io = io;
        Operators = operators;
        Notes = notes;
    }

    /// <summary>The NNEF graph (variables read lazily from the ONNX model, which must stay open until the graph is written).</summary>
    public Graph Graph { get; }

    /// <summary>Input and output names (NNEF and ONNX) and the frozen inputs, as recorded in the graph's properties.</summary>
    public OnnxIoRecord Io { get; }

    /// <summary>How many nodes of each ONNX operator the model has (subgraphs included), <c>Constant</c> nodes included.</summary>
    public IReadOnlyDictionary<string, int> Operators { get; }

    /// <summary>What the translation did that a user may want to know (batch norms folded into convolutions, ...).</summary>
    public IReadOnlyList<string> Notes { get; }
}
