using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Tests;

/// <summary>Reads the small golden safetensors files into owned tensors (copies, so the file can be closed).</summary>
internal static class GoldenTensors
{
    public static Dictionary<string, Tensor> Read(string path)
    {
        using SafetensorsFile file = SafetensorsFile.Open(path);
        var result = new Dictionary<string, Tensor>();
        foreach (SafetensorsEntry e in file.Entries)
        {
            using Tensor view = file.GetTensor(e);
            result[e.Name] = view.Clone();
        }

        return result;
    }
}
