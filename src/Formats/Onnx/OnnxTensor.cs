using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Onnx;

/// <summary>Where an <see cref="OnnxTensor"/>'s bytes live.</summary>
public enum OnnxTensorStorage
{
    /// <summary><c>raw_data</c> inside the model file, viewed in place through its memory mapping.</summary>
    Inline,
    /// <summary>Typed fields (<c>float_data</c>, <c>int64_data</c>, ...) decoded to little-endian bytes when loaded.</summary>
    Decoded,
    /// <summary>A range of an external data file, memory-mapped.</summary>
    External,
}

/// <summary>
/// A tensor stored in an ONNX model: an initializer or a tensor-valued attribute (for example a <c>Constant</c>
/// node's value). Its dtype, shape and byte size were checked against the bytes available when the model was loaded;
/// <see cref="Open"/> then hands out a view that copies nothing for inline and external data. Views are valid while
/// the <see cref="OnnxModel"/> that produced this tensor is open.
/// </summary>
public sealed class OnnxTensor : TensorSource
{
    private readonly MappedFile? _file;
    private readonly long _offset;
    private readonly byte[]? _bytes;

    private OnnxTensor(string name, OnnxDataType elementType, DType dtype, Shape shape, OnnxTensorStorage storage)
    {
        Name = name;
        ElementType = elementType;
        DType = dtype;
        Shape = shape;
        Storage = storage;
    }

    private OnnxTensor(string name, OnnxDataType elementType, DType dtype, Shape shape, OnnxTensorStorage storage, MappedFile file, long offset)
        : this(name, elementType, dtype, shape, storage)
    {
        _file = file;
        _offset = offset;
    }

    private OnnxTensor(string name, OnnxDataType elementType, DType dtype, Shape shape, byte[] bytes)
        : this(name, elementType, dtype, shape, OnnxTensorStorage.Decoded)
    {
        _bytes = bytes;
    }

    /// <summary>The tensor's name in the model (for attribute tensors without one: <c>node.attribute</c>).</summary>
    public string Name { get; }

    /// <summary>The element type as the model declares it.</summary>
    public OnnxDataType ElementType { get; }

    /// <inheritdoc />
    public override DType DType { get; }

    /// <inheritdoc />
    public override Shape Shape { get; }

    /// <summary>Where the bytes live.</summary>
    public OnnxTensorStorage Storage { get; }

    /// <summary>For external data: the file holding the bytes (resolved, inside the model's folder); otherwise null.</summary>
    public string? ExternalPath => Storage == OnnxTensorStorage.External ? _file!.Path : null;

    /// <summary>Offset of the bytes in the model file or the external file; 0 for decoded tensors.</summary>
    public long FileOffset => _offset;

    /// <summary>A read-only view of the bytes; disposing it releases nothing of the model.</summary>
    public override Tensor Open() =>
        new(DType, Shape, _bytes is not null ? new ReadOnlyArrayData(_bytes) : _file!.Slice(_offset, ByteLength));

    /// <summary>Formats as <c>name: f32[2, 3]</c>.</summary>
    public override string ToString() => $"{Name}: {DType.Name()}{Shape}";

    internal static OnnxTensor Mapped(string name, OnnxDataType type, DType dtype, Shape shape, MappedFile file, long offset, bool external) =>
        new(name, type, dtype, shape, external ? OnnxTensorStorage.External : OnnxTensorStorage.Inline, file, offset);

    internal static OnnxTensor Decoded(string name, OnnxDataType type, DType dtype, Shape shape, byte[] bytes) =>
        new(name, type, dtype, shape, bytes);
}
