using TorchToNnef.Quant;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// Checks the Q4_0 pipeline's search for a non-finite scale (vectorized 16 blocks at a time where 256-bit vectors are
/// accelerated, one byte per block otherwise and in the tail) against a plain loop over the blocks' f16 scales, so that
/// each vector configuration this process runs is covered: block counts 0..70 and larger odd counts, with no special
/// scale, one NaN or infinite scale at each position, and a second one after it.
/// </summary>
public static class ScaleChecks
{
    private static readonly int[] BlockCounts = [.. Enumerable.Range(0, 71), 257, 1001];

    /// <summary>One message per mismatch (empty = all equal).</summary>
    public static List<string> NonFiniteScaleSearch(int seeds)
    {
        var failures = new List<string>();
        for (int seed = 0; seed < seeds; seed++)
        {
            var random = new Random(4000 + seed);
            foreach (int count in BlockCounts)
            {
                byte[] blocks = new byte[count * Q40Format.BlockBytes];
                random.NextBytes(blocks);
                for (int g = 0; g < count; g++)
                {
                    // A finite scale: at least one exponent bit clear (bits 2-6 of the high byte).
                    blocks[(g * Q40Format.BlockBytes) + 1] &= unchecked((byte)~(1 << random.Next(2, 7)));
                }

                Compare(failures, blocks, $"{count} blocks, seed {seed}, all finite");
                for (int g = 0; g < count; g++)
                {
                    byte[] one = (byte[])blocks.Clone();
                    one[(g * Q40Format.BlockBytes) + 1] |= 0x7C;
                    Compare(failures, one, $"{count} blocks, seed {seed}, special at {g}");
                    int later = g + 1 + random.Next(Math.Max(1, count - g - 1));
                    if (later < count)
                    {
                        one[(later * Q40Format.BlockBytes) + 1] |= 0x7C;
                        Compare(failures, one, $"{count} blocks, seed {seed}, specials at {g} and {later}");
                    }
                }
            }
        }

        return failures;
    }

    private static void Compare(List<string> failures, byte[] blocks, string what)
    {
        int expected = -1;
        for (int g = 0; g < blocks.Length / Q40Format.BlockBytes; g++)
        {
            ushort scale = (ushort)(blocks[g * Q40Format.BlockBytes] | (blocks[(g * Q40Format.BlockBytes) + 1] << 8));
            if (!Half.IsFinite(BitConverter.UInt16BitsToHalf(scale)))
            {
                expected = g;
                break;
            }
        }

        int got = Q40Pipeline.FirstNonFiniteScale(blocks);
        if (got != expected)
        {
            failures.Add($"non-finite scale search, {what}: {got}, expected {expected}");
        }
    }
}
