using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Fuzz.Targets;

/// <summary>A <c>.safetensors</c> file: length prefix, JSON header, layout checks, then every tensor read.</summary>
internal sealed class SafetensorsTarget : FuzzTarget
{
    public override string Name => "safetensors";

    public override string Description => "SafetensorsFile.Open + GetTensor/read of every entry";

    public override void Run(byte[] input, Scratch scratch)
    {
        using SafetensorsFile file = SafetensorsFile.Open(scratch.Write("model.safetensors", input));
        foreach (SafetensorsEntry entry in file.Entries)
        {
            using Tensor tensor = file.GetTensor(entry);
            Touch.Tensor(tensor, entry.Name);
        }
    }

    public override IEnumerable<Seed> Seeds(GoldenFiles golden) => golden.Files("*.safetensors", 16 << 10, 24);
}
