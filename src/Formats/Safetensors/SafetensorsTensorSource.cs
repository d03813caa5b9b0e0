using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Safetensors;

/// <summary>
/// One tensor of an open safetensors file as a graph variable's data: <see cref="Open"/> gives a zero-copy view of the
/// mapping, <see cref="WriteTo"/> streams the bytes a bounded window at a time through short-lived mappings of their
/// own, so copying a whole checkpoint into an NNEF archive never holds more than a window of it in the resident set.
/// Valid while the file is open. bf16 data has no NNEF <c>.dat</c> type: wrap it in a
/// <see cref="ConvertedTensorSource"/> to write it as f16 or f32.
/// </summary>
public sealed class SafetensorsTensorSource : TensorSource
{
    internal SafetensorsTensorSource(SafetensorsFile file, SafetensorsEntry entry)
    {
        File = file;
        Entry = entry;
    }

    /// <summary>The file the tensor lives in.</summary>
    public SafetensorsFile File { get; }

    /// <summary>The tensor's header entry.</summary>
    public SafetensorsEntry Entry { get; }

    /// <inheritdoc />
    public override DType DType => Entry.DType;

    /// <inheritdoc />
    public override Shape Shape => Entry.Shape;

    /// <summary>A zero-copy view of the mapping; disposing it does not close the file.</summary>
    public override Tensor Open() => File.GetTensor(Entry);

    /// <inheritdoc />
    public override void WriteTo(Stream destination)
    {
        using Tensor view = Open();
        view.Data.CopyTo(destination);
    }
}
