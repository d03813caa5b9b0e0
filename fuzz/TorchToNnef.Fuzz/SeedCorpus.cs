namespace TorchToNnef.Fuzz;

/// <summary>
/// Builds a target's starting corpus: the seeds it derives from the golden files plus the tiny hand-made seeds
/// committed under fuzz/seeds/&lt;target&gt;/. Every seed must satisfy the contract (it is replayed first), so a broken
/// seed shows up at once instead of as an afl-fuzz start-up error.
/// </summary>
internal static class SeedCorpus
{
    /// <summary>Writes the corpus of <paramref name="target"/> to <paramref name="outDir"/>; returns how many seeds.</summary>
    public static int Write(FuzzTarget target, GoldenFiles golden, string? handMadeDir, string outDir)
    {
        Directory.CreateDirectory(outDir);
        int count = 0;
        foreach (Seed seed in target.Seeds(golden))
        {
            File.WriteAllBytes(Path.Combine(outDir, seed.Name), seed.Bytes);
            count++;
        }

        if (handMadeDir is not null && Directory.Exists(handMadeDir))
        {
            foreach (string path in Directory.EnumerateFiles(handMadeDir).Order(StringComparer.Ordinal))
            {
                File.Copy(path, Path.Combine(outDir, "seed-" + Path.GetFileName(path)), overwrite: true);
                count++;
            }
        }

        if (count == 0)
        {
            throw new InvalidOperationException($"{target.Name}: no seeds (golden folder {golden.Root}, hand-made {handMadeDir})");
        }

        return count;
    }
}
