using TorchToNnef.Formats.Numpy;
using TorchToNnef.Tensors;

namespace TorchToNnef.Fuzz.Targets;

/// <summary>A <c>.npy</c> array read from a stream (as npz entries and <c>verify --input</c> files are).</summary>
internal sealed class NpyTarget : FuzzTarget
{
    public override string Name => "npy";

    public override string Description => "NpyFile.Read(Stream)";

    public override void Run(byte[] input, Scratch scratch)
    {
        using var stream = new MemoryStream(input, writable: false);
        using Tensor tensor = NpyFile.Read(stream, "input.npy");
        Touch.Tensor(tensor, "input.npy");
    }

    public override IEnumerable<Seed> Seeds(GoldenFiles golden) => golden.Files("*.npy", 16 << 10, 24);
}
