using System.Text;
using TorchToNnef.Formats.Safetensors;

namespace TorchToNnef.Fuzz.Targets;

/// <summary>A sharded checkpoint's <c>model.safetensors.index.json</c>.</summary>
internal sealed class SafetensorsIndexTarget : FuzzTarget
{
    public override string Name => "safetensors-index";

    public override string Description => "SafetensorsIndex.Read";

    public override void Run(byte[] input, Scratch scratch)
    {
        SafetensorsIndex index = SafetensorsIndex.Read(scratch.Write(SafetensorsIndex.FileName, input));
        foreach ((string tensor, string shard) in index.WeightMap)
        {
            _ = tensor.Length + shard.Length;
        }
    }

    /// <summary>The goldens hold no sharded checkpoint: indexes are made from the tensor names of golden checkpoints.</summary>
    public override IEnumerable<Seed> Seeds(GoldenFiles golden)
    {
        foreach (Seed seed in golden.Files("*.safetensors", 16 << 10, 4))
        {
            using var scratch = new Scratch();
            using SafetensorsFile file = SafetensorsFile.Open(scratch.Write("seed.safetensors", seed.Bytes));
            var json = new StringBuilder("{\"metadata\": {\"total_size\": ").Append(file.FileLength).Append("}, \"weight_map\": {");
            for (int i = 0; i < file.Entries.Count; i++)
            {
                string shard = i % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
                json.Append(i == 0 ? "" : ", ").Append('"').Append(file.Entries[i].Name).Append("\": \"").Append(shard).Append('"');
            }

            yield return new Seed(seed.Name + ".index.json", Encoding.UTF8.GetBytes(json.Append("}}").ToString()));
        }
    }
}
