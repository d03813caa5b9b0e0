using System.Text;
using TorchToNnef.Formats.Checksums;
using OracleCrc32 = System.IO.Hashing.Crc32;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// Every CRC-32 path of <see cref="GzipCrc32"/> this process runs against System.IO.Hashing's Crc32 (an independent
/// implementation) and the check value of the gzip CRC: all lengths up to a few hundred bytes at every start offset
/// modulo 8, lengths around the loop strides and long inputs, and appends split at odd points.
/// </summary>
public static class Crc32Checks
{
    /// <summary>The paths this process can run, narrowest first.</summary>
    public static IReadOnlyList<string> Supported =>
        [.. Enum.GetValues<GzipCrc32Path>().Where(GzipCrc32.IsSupported).Select(p => p.ToString())];

    /// <summary>The path long inputs take by default in this process.</summary>
    public static string Widest => GzipCrc32.Widest.ToString();

    /// <summary>Runs the checks for every supported path; returns one line per failure.</summary>
    public static List<string> Run(int seeds)
    {
        var failures = new List<string>();
        foreach (GzipCrc32Path path in Enum.GetValues<GzipCrc32Path>().Where(GzipCrc32.IsSupported))
        {
            Check(failures, path, seeds);
        }

        // The default entry (what StoredGzipWriter calls) agrees too.
        var rng = new Random(11);
        byte[] data = new byte[70_000];
        rng.NextBytes(data);
        foreach (int n in new[] { 0, 1, 63, 64, 127, 128, 255, 256, 257, 4099, 70_000 })
        {
            Expect(failures, "default", $"length {n}", OracleCrc32.HashToUInt32(data.AsSpan(0, n)), GzipCrc32.Compute(data.AsSpan(0, n)));
        }

        return failures;
    }

    private static void Check(List<string> failures, GzipCrc32Path path, int seeds)
    {
        string name = path.ToString();
        Expect(failures, name, "check value of \"123456789\"", 0xCBF43926u, GzipCrc32.Append(path, 0, "123456789"u8));
        Expect(failures, name, "empty input", 0u, GzipCrc32.Append(path, 0, []));
        Expect(failures, name, "empty append keeps the CRC", 0x12345678u, GzipCrc32.Append(path, 0x12345678, []));
        Expect(failures, name, "\"The quick brown fox...\"", 0x414FA339u, GzipCrc32.Append(path, 0, Encoding.ASCII.GetBytes("The quick brown fox jumps over the lazy dog")));

        for (int seed = 0; seed < seeds; seed++)
        {
            var rng = new Random(1000 + seed);
            byte[] buffer = new byte[(1 << 20) + 4096];
            rng.NextBytes(buffer);

            // Every length up to 700 (every loop-exit and tail combination of all widths) at every start modulo 8.
            for (int start = 0; start < 8; start++)
            {
                for (int n = 0; n <= 700; n++)
                {
                    ReadOnlySpan<byte> s = buffer.AsSpan(start, n);
                    Expect(failures, name, $"seed {seed} start {start} length {n}", OracleCrc32.HashToUInt32(s), GzipCrc32.Append(path, 0, s));
                }
            }

            // Around multiples of the strides, and long inputs, at odd starts.
            foreach (int baseLength in new[] { 1024, 4096, 65_535, 65_536, 1 << 20 })
            {
                for (int d = -17; d <= 17; d += rng.Next(1, 6))
                {
                    int start = rng.Next(64);
                    ReadOnlySpan<byte> s = buffer.AsSpan(start, baseLength + d);
                    Expect(failures, name, $"seed {seed} start {start} length {s.Length}", OracleCrc32.HashToUInt32(s), GzipCrc32.Append(path, 0, s));
                }
            }

            // All-zero and all-ones inputs (a fold that dropped a lane would still match on zeros, not on ones).
            Expect(failures, name, "4096 zero bytes", OracleCrc32.HashToUInt32(new byte[4096]), GzipCrc32.Append(path, 0, new byte[4096]));
            byte[] ones = Enumerable.Repeat((byte)0xFF, 4133).ToArray();
            Expect(failures, name, "4133 0xFF bytes", OracleCrc32.HashToUInt32(ones), GzipCrc32.Append(path, 0, ones));

            // Appends split at odd points carry the CRC from piece to piece.
            for (int trial = 0; trial < 20; trial++)
            {
                int total = rng.Next(1, 20_000);
                int start = rng.Next(64);
                ReadOnlySpan<byte> whole = buffer.AsSpan(start, total);
                uint crc = 0;
                var cuts = new List<int>();
                for (int at = 0; at < total;)
                {
                    int piece = Math.Min(total - at, rng.Next(4) == 0 ? rng.Next(1, 8) : rng.Next(1, 3000));
                    crc = GzipCrc32.Append(path, crc, whole.Slice(at, piece));
                    cuts.Add(piece);
                    at += piece;
                }

                Expect(failures, name, $"seed {seed} {total} bytes appended in pieces {string.Join("+", cuts.Take(12))}{(cuts.Count > 12 ? "+..." : "")}", OracleCrc32.HashToUInt32(whole), crc);
            }
        }
    }

    private static void Expect(List<string> failures, string path, string what, uint expected, uint actual)
    {
        if (expected != actual)
        {
            failures.Add($"crc32 {path}: {what}: expected 0x{expected:X8}, got 0x{actual:X8}");
        }
    }
}
