using System.Text.Json;
using System.Text.Json.Serialization;
using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx;

/// <summary>An NNEF graph input or output and the ONNX name it was exported from.</summary>
public sealed record IoName
{
    /// <summary>The identifier in <c>graph.nnef</c>.</summary>
    [JsonPropertyName("nnef")]
    public required string Nnef { get; init; }

    /// <summary>The name in the ONNX model.</summary>
    [JsonPropertyName("onnx")]
    public required string Onnx { get; init; }
}

/// <summary>An ONNX input frozen to a constant at export (<c>t2n export --input-value</c>): it is no longer a graph input.</summary>
public sealed record FrozenInput
{
    /// <summary>The input's name in the ONNX model.</summary>
    [JsonPropertyName("onnx")]
    public required string Onnx { get; init; }

    /// <summary>Element type (<c>f32</c>, <c>i64</c>, ...).</summary>
    [JsonPropertyName("dtype")]
    public required string DType { get; init; }

    /// <summary>Dimensions.</summary>
    [JsonPropertyName("shape")]
    public required long[] Shape { get; init; }

    /// <summary>The values, little-endian bytes in base64.</summary>
    [JsonPropertyName("data")]
    public required string Data { get; init; }

    /// <summary>The frozen value as a tensor.</summary>
    /// <exception cref="InvalidInputFileException">The record is inconsistent.</exception>
    public Tensor ToTensor()
    {
        if (!DTypeInfo.TryParseName(DType, out DType dtype) || dtype.IsBlockQuantized() || Shape.Any(d => d < 0))
        {
            throw new InvalidInputFileException(null, Onnx, $"frozen input record has type '{DType}' and shape [{string.Join(", ", Shape)}]");
        }

        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(Data);
        }
        catch (FormatException)
        {
            throw new InvalidInputFileException(null, Onnx, "frozen input record has malformed data");
        }

        var shape = new Tensors.Shape(Shape);
        if (bytes.Length != dtype.ByteSize(shape.ElementCount))
        {
            throw new InvalidInputFileException(null, Onnx, $"frozen input record holds {bytes.Length} bytes, {dtype.Name()}{shape} needs {dtype.ByteSize(shape.ElementCount)}");
        }

        return new Tensor(dtype, shape, OwnedTensorData.Wrap(bytes));
    }

    /// <summary>Records <paramref name="value"/> as the frozen value of ONNX input <paramref name="onnxName"/>.</summary>
    public static FrozenInput Of(string onnxName, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new FrozenInput { Onnx = onnxName, DType = value.DType.Name(), Shape = value.Shape.Dims.ToArray(), Data = Convert.ToBase64String(value.Bytes) };
    }
}

/// <summary>
/// What <c>t2n export</c> records about the ONNX model an archive came from, as the model property
/// <see cref="PropertyKey"/> (a JSON text, ASCII only): the ONNX names of the graph inputs and outputs (NNEF needs
/// identifiers, ONNX names are free text) and the inputs frozen to constants. <c>t2n verify</c> reads it to accept
/// bundles keyed by the ONNX names, as ONNX Runtime writes them.
/// </summary>
public sealed record OnnxIoRecord
{
    /// <summary>The property holding the record.</summary>
    public const string PropertyKey = "t2n_onnx_io";

    /// <summary>Format tag.</summary>
    [JsonPropertyName("format")]
    public string Format { get; init; } = "t2n.onnx-io/1";

    /// <summary>Graph inputs in order.</summary>
    [JsonPropertyName("inputs")]
    public IReadOnlyList<IoName> Inputs { get; init; } = [];

    /// <summary>Graph outputs in order.</summary>
    [JsonPropertyName("outputs")]
    public IReadOnlyList<IoName> Outputs { get; init; } = [];

    /// <summary>Inputs frozen to constants.</summary>
    [JsonPropertyName("frozen")]
    public IReadOnlyList<FrozenInput> Frozen { get; init; } = [];

    /// <summary>Writes the record into <paramref name="graph"/>'s properties.</summary>
    public void WriteTo(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        graph.SetProperty(PropertyKey, JsonSerializer.Serialize(this, OnnxIoJsonContext.Default.OnnxIoRecord));
    }

    /// <summary>The record of <paramref name="graph"/>, or null when it has none.</summary>
    /// <exception cref="InvalidInputFileException">The property is present but malformed.</exception>
    public static OnnxIoRecord? ReadFrom(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        string? text = graph.GetProperty(PropertyKey);
        if (text is null)
        {
            return null;
        }

        try
        {
            OnnxIoRecord record = JsonSerializer.Deserialize(text, OnnxIoJsonContext.Default.OnnxIoRecord)
                ?? throw new InvalidInputFileException(null, PropertyKey, "property is null");
            return record.Inputs.Concat(record.Outputs).Any(n => n is null || n.Nnef is null || n.Onnx is null) || record.Frozen.Any(f => f is null)
                ? throw new InvalidInputFileException(null, PropertyKey, "property lists an incomplete name")
                : record;
        }
        catch (JsonException e)
        {
            throw new InvalidInputFileException(null, PropertyKey, $"property is not a valid record: {e.Message}");
        }
    }
}

/// <summary>Source-generated JSON for <see cref="OnnxIoRecord"/> (AOT-safe).</summary>
[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(OnnxIoRecord))]
internal sealed partial class OnnxIoJsonContext : JsonSerializerContext;
