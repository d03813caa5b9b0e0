using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// <c>KernelCheck --all-reciprocals [--only K]</c>: a kernel's f16 encode against <see cref="LiteralQ40.CodeF16"/> for
/// every finite f16 input with every finite f16 reciprocal of either sign (63,488 x 63,488 products, about 4 billion
/// codes per kernel; minutes, not part of the suite, which sweeps a subset). Prints one line per reciprocal exponent.
/// </summary>
public static class AllReciprocalsCheck
{
    /// <summary>Runs the sweep for <paramref name="kind"/>; returns the failures (at most one per reciprocal).</summary>
    public static List<string> Run(Q40KernelKind kind) => kind switch
    {
        Q40KernelKind.Vector512 => Run<Q40Vector512Kernel>(),
        Q40KernelKind.Vector256 => Run<Q40Vector256Kernel>(),
        Q40KernelKind.Vector128 => Run<Q40Vector128Kernel>(),
        _ => Run<Q40ScalarKernel>(),
    };

    private static List<string> Run<TKernel>()
        where TKernel : struct, IQ40Kernel
    {
        ushort[] finite = [.. Enumerable.Range(0, 65536).Select(i => (ushort)i).Where(h => (h & 0x7C00) != 0x7C00)];
        float[] values = [.. finite.Select(LiteralQ40.HalfToSingle)];
        int groups = finite.Length / LiteralQ40.N;
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        for (int exponent = 0; exponent < 31; exponent++)
        {
            long compared = 0;
            Parallel.For(0, 2 * 1024, new ParallelOptions { MaxDegreeOfParallelism = 2 }, j =>
            {
                ushort rBits = (ushort)(((j >> 10) << 15) | (exponent << 10) | (j & 0x3FF));
                float r = LiteralQ40.HalfToSingle(rBits);
                var scales = new ushort[groups];
                float[] reciprocals = [.. Enumerable.Repeat(r, groups)];
                var actual = new byte[groups * LiteralQ40.B];
                TKernel.EncodeHalf(finite, scales, reciprocals, actual);
                var codes = new byte[LiteralQ40.N];
                for (int g = 0; g < groups; g++)
                {
                    for (int i = 0; i < LiteralQ40.N; i++)
                    {
                        codes[i] = LiteralQ40.CodeF16(values[(g * LiteralQ40.N) + i], r);
                    }

                    ReadOnlySpan<byte> block = actual.AsSpan(g * LiteralQ40.B, LiteralQ40.B);
                    for (int b = 0; b < 16; b++)
                    {
                        if (block[2 + b] != (byte)(codes[b] | (codes[b + 16] << 4)))
                        {
                            failures.Add($"{TKernel.Kind} EncodeHalf r={r:R} ({rBits:X4}): group {g} byte {b}: got {block[2 + b]:X2}, expected {codes[b] | (codes[b + 16] << 4):X2}");
                            return;
                        }
                    }
                }

                Interlocked.Add(ref compared, finite.Length);
            });
            Console.WriteLine($"{TKernel.Kind} reciprocal exponent field {exponent}: {compared:N0} codes compared, {failures.Count} failures so far");
        }

        return [.. failures];
    }
}
