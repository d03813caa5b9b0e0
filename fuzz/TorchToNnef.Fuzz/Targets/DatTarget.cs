using TorchToNnef.Formats.Nnef;
using TorchToNnef.Tensors;

namespace TorchToNnef.Fuzz.Targets;

/// <summary>A tensor <c>.dat</c> file: the 128-byte header (dtype, shape, item type, vendor, bits) and its payload.</summary>
internal sealed class DatTarget : FuzzTarget
{
    public override string Name => "dat";

    public override string Description => "DatFile.Read(Stream) (DatHeader.Parse, payload, bit-packed bools)";

    public override void Run(byte[] input, Scratch scratch)
    {
        using var stream = new MemoryStream(input, writable: false);
        using Tensor tensor = DatFile.Read(stream, "input.dat", "input");
        Touch.Tensor(tensor, "input.dat");
    }

    /// <summary>Golden headers are few and repetitive: one seed per distinct header (dtype, rank, item type).</summary>
    public override IEnumerable<Seed> Seeds(GoldenFiles golden)
    {
        var headers = new HashSet<string>(StringComparer.Ordinal);
        foreach (Seed seed in golden.Files("*.dat", 4 << 10, int.MaxValue))
        {
            int n = Math.Min(DatHeader.Size, seed.Bytes.Length);
            // Shape dimensions differ between otherwise identical headers; keep magic, version, rank, sizes, item type.
            string key = Convert.ToHexString(seed.Bytes, 0, 12) + Convert.ToHexString(seed.Bytes, Math.Max(0, n - 12), Math.Min(12, n));
            if (headers.Add(key))
            {
                yield return seed;
                if (headers.Count == 24)
                {
                    yield break;
                }
            }
        }
    }
}
