using System.Buffers.Binary;
using System.Text.Json;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Tests;

/// <summary>
/// Reads the small golden safetensors files into owned tensors (test-only; the product reader lives in Formats).
/// </summary>
internal static class GoldenTensors
{
    public static Dictionary<string, Tensor> Read(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(file);
        using JsonDocument doc = JsonDocument.Parse(file.AsMemory(8, (int)headerLength));
        var result = new Dictionary<string, Tensor>();
        foreach (JsonProperty p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                continue;
            }

            DType dtype = p.Value.GetProperty("dtype").GetString() switch
            {
                "F32" => DType.F32,
                "F16" => DType.F16,
                "BF16" => DType.BF16,
                "U8" => DType.U8,
                var other => throw new InvalidDataException($"unexpected dtype {other}"),
            };
            long[] dims = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long[] offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            ReadOnlySpan<byte> data = file.AsSpan((int)(8 + headerLength + offsets[0]), (int)(offsets[1] - offsets[0]));
            result[p.Name] = new Tensor(dtype, new Shape(dims), OwnedTensorData.CopyOf(data));
        }

        return result;
    }
}
