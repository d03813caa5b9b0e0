using TorchToNnef.Errors;

namespace TorchToNnef.Export.Pipeline;

public static partial class ModelPipeline
{
    /// <summary>
    /// Describes a model without reading its weights: a <c>.safetensors</c> file, a <c>*.safetensors.index.json</c>
    /// or a Hugging Face checkpoint folder (tensors, shards, <c>config.json</c>); an NNEF model, <c>.nnef.tgz</c>,
    /// <c>.tar</c> or folder (also inputs and outputs with symbols, operators, <c>graph.quant</c>, properties, bits per
    /// weight); or an ONNX model. Only headers are read, so inspecting a large model is fast and uses little memory.
    /// </summary>
    /// <exception cref="InvalidInputFileException">No such path, or not a kind of model this knows.</exception>
    public static InspectReport Inspect(string path, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        cancellation.ThrowIfCancellationRequested();
        IModelInspector inspector = Array.Find(InspectorCatalog.All, i => i.CanInspect(path))
            ?? throw new InvalidInputFileException(path, null, File.Exists(path) || Directory.Exists(path)
                ? "not a recognized input (expected a .safetensors file, a checkpoint directory, an NNEF archive or an ONNX model)"
                : "no such file or directory");
        return inspector.Inspect(path);
    }
}
