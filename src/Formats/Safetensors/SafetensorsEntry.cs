using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Safetensors;

/// <summary>One tensor of a safetensors file, as its header describes it (validated).</summary>
/// <param name="Name">Tensor name (the header key).</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Shape (rank 0 to <see cref="Shape.MaxRank"/>).</param>
/// <param name="DataOffset">Absolute offset of the first payload byte in the file.</param>
/// <param name="ByteLength">Payload size in bytes (element count times element size).</param>
public sealed record SafetensorsEntry(string Name, DType DType, Shape Shape, long DataOffset, long ByteLength)
{
    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.ElementCount;

    /// <summary>Formats as <c>name: F32[2, 3]</c>.</summary>
    public override string ToString() => $"{Name}: {SafetensorsDTypes.Name(DType)}{Shape}";
}
