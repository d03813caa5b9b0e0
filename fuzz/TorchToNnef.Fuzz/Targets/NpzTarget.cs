using TorchToNnef.Formats.Numpy;
using TorchToNnef.Tensors;

namespace TorchToNnef.Fuzz.Targets;

/// <summary>An <c>.npz</c> bundle (zip of <c>.npy</c>): directory, names, then every array read.</summary>
internal sealed class NpzTarget : FuzzTarget
{
    public override string Name => "npz";

    public override string Description => "NpzArchive.Open + ReadTensor of every name";

    /// <summary>Deflate may expand an entry a hundredfold, up to 64 MiB at any ratio (DecompressionLimits).</summary>
    public override long AllocationBudget(int inputLength) => (256L << 20) + 256L * inputLength;

    public override void Run(byte[] input, Scratch scratch)
    {
        using NpzArchive npz = NpzArchive.Open(scratch.Write("input.npz", input));
        foreach (string name in npz.Names)
        {
            using Tensor tensor = npz.ReadTensor(name);
            Touch.Tensor(tensor, name);
        }
    }

    public override IEnumerable<Seed> Seeds(GoldenFiles golden) => golden.Files("*.npz", 16 << 10, 24);
}
