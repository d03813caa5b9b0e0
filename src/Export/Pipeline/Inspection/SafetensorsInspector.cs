using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Pipeline;

/// <summary>A <c>.safetensors</c> file, a sharded index, or a Hugging Face checkpoint directory.</summary>
internal sealed class SafetensorsInspector : IModelInspector
{
    public string Kind => "safetensors";

    public bool CanInspect(string path) =>
        File.Exists(path)
            ? path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".safetensors.index.json", StringComparison.OrdinalIgnoreCase)
            : Directory.Exists(path) && Directory.EnumerateFiles(path, "*.safetensors*").Any();

    public InspectReport Inspect(string path)
    {
        // Opening validates every header; no tensor data is touched, so memory stays at a few MB for any size.
        using SafetensorsCheckpoint checkpoint = SafetensorsCheckpoint.Open(path);
        bool sharded = checkpoint.Shards.Count > 1;
        var tensors = new List<InspectTensor>(checkpoint.Entries.Count);
        var files = new List<InspectFile>(checkpoint.Shards.Count);
        foreach (SafetensorsFile shard in checkpoint.Shards)
        {
            string name = System.IO.Path.GetFileName(shard.Path);
            foreach (SafetensorsEntry e in shard.Entries)
            {
                tensors.Add(new InspectTensor(e.Name, e.DType.Name(), e.Shape.ToArray(), e.ElementCount, e.ByteLength, sharded ? name : null));
            }

            files.Add(new InspectFile(shard.Path, shard.Entries.Count, shard.FileLength, shard.Metadata));
        }

        string configDir = Directory.Exists(path) ? path : System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        string configPath = System.IO.Path.Combine(configDir, "config.json");
        ModelConfigSummary? config = File.Exists(configPath) ? ModelConfigSummary.Read(configPath) : null;
        return new InspectReport(Kind, path, files, tensors, InspectTotals.Of(tensors), config);
    }
}
