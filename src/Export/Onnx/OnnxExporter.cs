using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Formats.Onnx;

namespace TorchToNnef.Export.Onnx;

/// <summary>
/// ONNX to NNEF: translates a loaded ONNX model into an NNEF graph for tract. Every unsupported operator is reported
/// at once, before anything is built; shape logic and constant subgraphs are folded at export time. The graph's
/// variables read the model's tensors lazily, so the model stays open until the graph is written.
/// </summary>
public static class OnnxExporter
{
    /// <summary>Translates <paramref name="model"/>.</summary>
    /// <exception cref="Errors.UnsupportedFeatureException">The model uses operators or features that are not translated (all listed).</exception>
    /// <exception cref="Errors.InvalidInputFileException">The model is inconsistent.</exception>
    public static OnnxExportResult Translate(OnnxModel model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new Translator(model, options ?? new OnnxExportOptions()).Run();
    }

    /// <summary>The ONNX operator types (standard domain) the exporter translates.</summary>
    public static IEnumerable<string> SupportedOperators => OperatorTable.Supported.Order(StringComparer.Ordinal);

    /// <summary>
    /// Fails when <paramref name="model"/> uses operators without a translation (subgraphs included), listing every
    /// unsupported operator type with the nodes that use it; nothing else is checked.
    /// </summary>
    public static void CheckSupported(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        OperatorTable.CheckSupported(model);
    }
}
