namespace TorchToNnef.Export.Pipeline;

/// <summary>
/// Reads one kind of input for <see cref="ModelPipeline.Inspect"/>. Add a kind (NNEF archives, ONNX, ...) by
/// implementing this and listing it in <see cref="InspectorCatalog"/>; the formatters need no change.
/// </summary>
internal interface IModelInspector
{
    /// <summary>Short name of the input kind, shown in reports.</summary>
    string Kind { get; }

    /// <summary>True when <paramref name="path"/> looks like this kind of input (cheap: names, not contents).</summary>
    bool CanInspect(string path);

    /// <summary>Reads the input's structure (headers only, not the weights) and builds the report.</summary>
    InspectReport Inspect(string path);
}

/// <summary>The inspectors <see cref="ModelPipeline.Inspect"/> tries, in order; the first that accepts the path is used.</summary>
internal static class InspectorCatalog
{
    public static IModelInspector[] All => [new NnefInspector(), new SafetensorsInspector(), new OnnxInspector()];
}
