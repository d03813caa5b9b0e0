using System.Runtime.InteropServices;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// Compares one Q4_0 kernel with <see cref="LiteralQ40"/> (an independent, naive statement of the arithmetic), stage
/// by stage and end to end through the driver, bit for bit, on group counts 1..130 (lengths 32..4160, odd counts
/// included, so every batch tail is hit) and larger odd counts. The scalar kernel is checked the same way: no kernel is
/// its own expectation. Returns one message per mismatch (empty = all equal).
/// </summary>
public static class KernelChecks
{
    private static readonly int[] GroupCounts = [.. Enumerable.Range(1, 130), 257, 1001];

    /// <summary>All checks of <paramref name="kind"/>, for <paramref name="seeds"/> random seeds.</summary>
    public static List<string> Run(Q40KernelKind kind, int seeds = 3)
    {
        var failures = new List<string>();
        failures.AddRange(Stages(kind, seeds));
        failures.AddRange(EndToEnd(kind, seeds));
        return failures;
    }

    /// <summary>Each stage of the kernel against the literal arithmetic.</summary>
    public static List<string> Stages(Q40KernelKind kind, int seeds) => kind switch
    {
        Q40KernelKind.Vector512 => StageChecks<Q40Vector512Kernel>(seeds),
        Q40KernelKind.Vector256 => StageChecks<Q40Vector256Kernel>(seeds),
        Q40KernelKind.Vector128 => StageChecks<Q40Vector128Kernel>(seeds),
        _ => StageChecks<Q40ScalarKernel>(seeds),
    };

    /// <summary>
    /// Quantization through the driver against the literal per-group arithmetic: min-max, percentile 0.99 and given
    /// scales of either sign, for f32, f16 and bf16 sources and both nibble orders.
    /// </summary>
    public static List<string> EndToEnd(Q40KernelKind kind, int seeds)
    {
        var failures = new List<string>();
        for (int seed = 0; seed < seeds; seed++)
        {
            var rng = new Random(1000 + seed);
            foreach (int groups in GroupCounts)
            {
                float[] f32 = TestData.Floats(rng, groups);
                ushort[] f16 = TestData.Halves(rng, groups);
                ushort[] bf16 = TestData.BFloat16s(rng, groups);
                float[] f16Values = [.. f16.Select(LiteralQ40.HalfToSingle)];
                float[] bf16Values = [.. bf16.Select(LiteralQ40.BFloat16ToSingle)];
                (string Name, DType DType, byte[] Bytes, float[] Values)[] sources =
                [
                    ("f32", DType.F32, MemoryMarshal.AsBytes(f32.AsSpan()).ToArray(), f32),
                    ("f16", DType.F16, MemoryMarshal.AsBytes(f16.AsSpan()).ToArray(), f16Values),
                    ("bf16", DType.BF16, MemoryMarshal.AsBytes(bf16.AsSpan()).ToArray(), bf16Values),
                ];
                foreach ((string name, DType dtype, byte[] bytes, float[] values) in sources)
                {
                    Compare(failures, $"{kind} {name} min-max groups={groups} seed={seed}", LiteralQ40.QuantizeMinMax(values, dtype == DType.F16), Quantize(kind, dtype, bytes, groups, 1f));
                }

                if (groups % 16 != 1)
                {
                    continue;
                }

                // The percentile path shares the scale, encode and fix-up stages but takes torch's quantile.
                // Arbitrary scales of either sign, as the search calibrations produce them.
                ushort[] scales = new ushort[groups];
                for (int g = 0; g < groups; g++)
                {
                    scales[g] = LiteralQ40.ToHalf((rng.NextDouble() - 0.5) * Math.ScaleB(1, rng.Next(-20, 10)));
                }

                foreach ((string name, DType dtype, byte[] bytes, float[] values) in sources)
                {
                    Compare(failures, $"{kind} {name} p99 groups={groups} seed={seed}", LiteralQ40.QuantizeMinMax(values, dtype == DType.F16, 0.99f), Quantize(kind, dtype, bytes, groups, 0.99f));
                    Compare(failures, $"{kind} {name} given scales groups={groups} seed={seed}", LiteralQ40.EncodeWithScales(values, scales, dtype == DType.F16), EncodeWithScales(kind, dtype, bytes, scales));
                }
            }
        }

        return failures;
    }

    /// <summary>Core's <see cref="BFloat16Conversions"/>: vector paths against the scalar reference.</summary>
    public static List<string> BFloat16Conversions(int seeds)
    {
        var failures = new List<string>();
        var all = new ushort[65536];
        for (int i = 0; i < all.Length; i++)
        {
            all[i] = (ushort)i;
        }

        var widened = new float[all.Length];
        Tensors.BFloat16Conversions.ToSingle(all, widened);
        for (int i = 0; i < all.Length; i++)
        {
            if (BitConverter.SingleToUInt32Bits(widened[i]) != BitConverter.SingleToUInt32Bits(Tensors.BFloat16Conversions.ToSingle(all[i])))
            {
                failures.Add($"bf16 widen of {i:X4}");
            }
        }

        for (int seed = 0; seed < seeds; seed++)
        {
            var rng = new Random(77 + seed);
            for (int n = 0; n <= 300; n++)
            {
                var f = new float[n];
                for (int i = 0; i < n; i++)
                {
                    f[i] = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32));
                }

                var narrowed = new ushort[n];
                Tensors.BFloat16Conversions.FromSingle(f, narrowed);
                for (int i = 0; i < n; i++)
                {
                    if (narrowed[i] != Tensors.BFloat16Conversions.FromSingle(f[i]))
                    {
                        failures.Add($"bf16 narrow of {BitConverter.SingleToUInt32Bits(f[i]):X8} at {i}/{n}");
                    }
                }
            }
        }

        return failures;
    }

    /// <summary>
    /// Core's f16 conversions (<see cref="FloatConversions"/>, vectorized by TensorPrimitives) against the BCL scalar
    /// casts: every f16 bit pattern widened, random f32 bit patterns narrowed (round-to-nearest-even) on all lengths.
    /// </summary>
    public static List<string> HalfConversions(int seeds)
    {
        var failures = new List<string>();
        ushort[] all = [.. Enumerable.Range(0, 65536).Select(i => (ushort)i)];
        var widened = new float[all.Length];
        FloatConversions.ToSingle(DType.F16, MemoryMarshal.AsBytes(all.AsSpan()), widened);
        for (int i = 0; i < all.Length; i++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf(all[i]);
            if (BitConverter.SingleToUInt32Bits(widened[i]) != BitConverter.SingleToUInt32Bits(expected) && !(float.IsNaN(expected) && float.IsNaN(widened[i])))
            {
                failures.Add($"f16 widen of {i:X4}");
            }
        }

        for (int seed = 0; seed < seeds; seed++)
        {
            var rng = new Random(91 + seed);
            for (int n = 0; n <= 300; n++)
            {
                var f = new float[n];
                for (int i = 0; i < n; i++)
                {
                    f[i] = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32));
                }

                var narrowed = new byte[2 * n];
                FloatConversions.FromSingle(DType.F16, f, narrowed);
                ReadOnlySpan<Half> halves = MemoryMarshal.Cast<byte, Half>(narrowed);
                for (int i = 0; i < n; i++)
                {
                    Half expected = (Half)f[i];
                    if (BitConverter.HalfToUInt16Bits(halves[i]) != BitConverter.HalfToUInt16Bits(expected) && !(Half.IsNaN(expected) && Half.IsNaN(halves[i])))
                    {
                        failures.Add($"f16 narrow of {BitConverter.SingleToUInt32Bits(f[i]):X8} at {i}/{n}");
                    }
                }
            }
        }

        return failures;
    }

    private static List<string> StageChecks<TKernel>(int seeds)
        where TKernel : struct, IQ40Kernel
    {
        var failures = new List<string>();
        string k = TKernel.Kind.ToString();

        // Conversions: every f16 / bf16 bit pattern, at every offset modulo the vector width; then random bits at
        // every length up to 140, so each vector tail is hit.
        var all = new ushort[65536 + 17];
        for (int i = 0; i < all.Length; i++)
        {
            all[i] = (ushort)i;
        }

        for (int offset = 0; offset < 17; offset++)
        {
            ReadOnlySpan<ushort> src = all.AsSpan(offset, 65536);
            CompareWidening<TKernel>(failures, $"{k} offset={offset}", src);
        }

        var bitsRng = new Random(4242);
        for (int n = 0; n <= 140; n++)
        {
            ushort[] src = [.. Enumerable.Range(0, n).Select(_ => (ushort)bitsRng.Next(65536))];
            CompareWidening<TKernel>(failures, $"{k} length={n}", src);
        }

        // f16 arithmetic on every finite f16 input, for reciprocals across the whole f16 range.
        ushort[] everyHalf = FiniteGroups([.. Enumerable.Range(0, 65536).Select(i => (ushort)i)], isHalf: true);
        float[] everyHalfValues = [.. everyHalf.Select(LiteralQ40.HalfToSingle)];
        var rng0 = new Random(42);
        for (int trial = 0; trial < 120; trial++)
        {
            float rr = trial < 8
                ? new[] { -65504f, 65504f, -4.70703125f, -1f, -2.5e-3f, 6.1e-5f, -1e-7f, 0f }[trial]
                : LiteralQ40.RoundToHalf((rng0.NextDouble() - 0.5) * Math.ScaleB(1, rng0.Next(-24, 17)));
            var sAll = new ushort[everyHalf.Length / 32];
            var rAll = Enumerable.Repeat(rr, sAll.Length).ToArray();
            var actual = new byte[sAll.Length * 18];
            TKernel.EncodeHalf(everyHalf, sAll, rAll, actual);
            Compare(failures, $"{k} EncodeHalf all f16 inputs, r={rr}", LiteralEncode(everyHalfValues, sAll, rAll, half: true), actual);
        }

        // Every reciprocal mantissa (r in [-2, -1), as min-max scales give negative reciprocals), against every f16 input
        // whose product lands where codes change (|x*r| from 2^-4 to 2^5): with the sweep above over exponents this
        // covers every product bit pattern the f16 rounding steps of the code see, ties included.
        ushort[] near = FiniteGroups([.. Enumerable.Range(0, 65536).Select(i => (ushort)i).Where(h => (h & 0x7C00) is >= (11 << 10) and <= (19 << 10))], isHalf: true);
        float[] nearValues = [.. near.Select(LiteralQ40.HalfToSingle)];
        var sNear = new ushort[near.Length / 32];
        var encoded = new byte[sNear.Length * 18];
        for (int m = 0; m < 1024; m++)
        {
            float rr = LiteralQ40.HalfToSingle((ushort)(0xBC00 | m));
            float[] rNear = [.. Enumerable.Repeat(rr, sNear.Length)];
            TKernel.EncodeHalf(near, sNear, rNear, encoded);
            Compare(failures, $"{k} EncodeHalf f16 inputs near the code steps, r={rr}", LiteralEncode(nearValues, sNear, rNear, half: true), encoded);
        }

        failures.AddRange(HalfMaxima<TKernel>());

        // Scales and reciprocals over a stride of all f32 values and the edges, at several lengths.
        float[] maxima = TestData.AbsMaxima();
        foreach (int n in new[] { maxima.Length, 1, 15, 17, 33 })
        {
            ReadOnlySpan<float> a = maxima.AsSpan(0, n);
            ushort[] s0 = [.. a.ToArray().Select(LiteralQ40.Scale)];
            float[] r0 = [.. s0.Select(LiteralQ40.Reciprocal)];
            var s1 = new ushort[n];
            var r1 = new float[n];
            TKernel.Scales(a, s1, r1);
            Compare(failures, $"{k} Scales n={n}", MemoryMarshal.AsBytes(s0.AsSpan()).ToArray(), MemoryMarshal.AsBytes(s1.AsSpan()).ToArray());
            CompareFloats(failures, $"{k} Reciprocals n={n}", r0, r1);
        }

        for (int seed = 0; seed < seeds; seed++)
        {
            var rng = new Random(seed);
            foreach (int groups in GroupCounts)
            {
                float[] x = TestData.Floats(rng, groups);
                float[] a0 = [.. Enumerable.Range(0, groups).Select(g => LiteralQ40.AbsMax(x.AsSpan(g * 32, 32)))];
                var a1 = new float[groups];
                TKernel.AbsMax(x, a1);
                CompareFloats(failures, $"{k} AbsMax groups={groups} seed={seed}", a0, a1);

                // Encode on groups the vector path owns (finite values, finite reciprocal): both arithmetics.
                for (int g = 0; g < groups; g++)
                {
                    if (!float.IsFinite(a0[g]))
                    {
                        x.AsSpan(g * 32, 32).Fill(0.25f);
                        a0[g] = 0.25f;
                    }
                }

                ushort[] s = [.. a0.Select(LiteralQ40.Scale)];
                float[] r = [.. s.Select(LiteralQ40.Reciprocal)];
                for (int g = 0; g < groups; g++)
                {
                    if (float.IsInfinity(r[g]))
                    {
                        r[g] = 1f;
                    }
                }

                var b1 = new byte[groups * 18];
                TKernel.EncodeF32(x, s, r, b1);
                Compare(failures, $"{k} EncodeF32 groups={groups} seed={seed}", LiteralEncode(x, s, r, half: false), b1);

                ushort[] h = FiniteGroups(TestData.Halves(rng, groups), isHalf: true);
                TKernel.EncodeHalf(h, s, r, b1);
                Compare(failures, $"{k} EncodeHalf groups={groups} seed={seed}", LiteralEncode([.. h.Select(LiteralQ40.HalfToSingle)], s, r, half: true), b1);

                ushort[] bf = FiniteGroups(TestData.BFloat16s(rng, groups), isHalf: false);
                TKernel.EncodeBFloat16(bf, s, r, b1);
                Compare(failures, $"{k} EncodeBFloat16 groups={groups} seed={seed}", LiteralEncode([.. bf.Select(LiteralQ40.BFloat16ToSingle)], s, r, half: false), b1);

                ushort[] m0 = [.. Enumerable.Range(0, groups).Select(g => LiteralQ40.AbsMaxBits(h.AsSpan(g * 32, 32)))];
                var m1 = new ushort[groups];
                TKernel.AbsMaxBits(h, m1);
                Compare(failures, $"{k} AbsMaxBits groups={groups} seed={seed}", MemoryMarshal.AsBytes(m0.AsSpan()).ToArray(), MemoryMarshal.AsBytes(m1.AsSpan()).ToArray());

                byte[] blocks = TestData.Blocks(rng, groups);
                var d1 = new float[groups * 32];
                TKernel.DequantizeF32(blocks, d1);
                CompareFloats(failures, $"{k} DequantizeF32 groups={groups} seed={seed}", LiteralQ40.DequantizeF32(blocks), d1);
                var h1 = new ushort[groups * 32];
                TKernel.DequantizeF16(blocks, h1);
                Compare(failures, $"{k} DequantizeF16 groups={groups} seed={seed}", MemoryMarshal.AsBytes(LiteralQ40.DequantizeF16(blocks).AsSpan()).ToArray(), MemoryMarshal.AsBytes(h1.AsSpan()).ToArray());
            }
        }

        return failures;
    }

    /// <summary>
    /// <see cref="IQ40Kernel.ScalesFromHalves"/> for every f16 maximum 0x0000..0x7FFF (zero, subnormals, tiny maxima
    /// with subnormal scales or infinite reciprocals, normals, infinity, every NaN), the maximum's element positive
    /// and then negative, against <see cref="LiteralQ40.Scale"/> / <see cref="LiteralQ40.Reciprocal"/>: in ascending
    /// order in slices of 64 groups (blocks of 8 that are all on the fast path or all off it, and slices with and
    /// without groups for the reference), then shuffled in slices of 1 to 70 groups (fast and exact lanes mixed in one
    /// block of 8, and every tail). The returned flag must be exactly "some scale is NaN/infinite or some reciprocal
    /// infinite" for the slice. The same groups then go through the driver's f16 min-max quantization, end to end.
    /// </summary>
    internal static List<string> HalfMaxima<TKernel>()
        where TKernel : struct, IQ40Kernel
    {
        var failures = new List<string>();
        string k = TKernel.Kind.ToString();
        const int Groups = 0x8000;
        var rng = new Random(2026);
        int[] shuffled = [.. Enumerable.Range(0, Groups)];
        rng.Shuffle(shuffled);
        foreach (bool negative in new[] { false, true })
        {
            foreach (bool shuffle in new[] { false, true })
            {
                // Group g's largest magnitude is the pattern max[g], at a position that moves with g; the other
                // elements are random patterns no larger in magnitude, of either sign.
                ushort[] max = [.. Enumerable.Range(0, Groups).Select(g => (ushort)(shuffle ? shuffled[g] : g))];
                var values = new ushort[Groups * LiteralQ40.N];
                for (int g = 0; g < Groups; g++)
                {
                    for (int i = 0; i < LiteralQ40.N; i++)
                    {
                        values[(g * LiteralQ40.N) + i] = (ushort)(rng.Next(max[g] + 1) | (rng.Next(2) << 15));
                    }

                    values[(g * LiteralQ40.N) + ((g * 7) % LiteralQ40.N)] = (ushort)(max[g] | (negative ? 0x8000 : 0));
                }

                ushort[] s0 = [.. max.Select(m => LiteralQ40.Scale(LiteralQ40.HalfToSingle(m)))];
                float[] r0 = [.. s0.Select(LiteralQ40.Reciprocal)];
                bool[] special = [.. s0.Select((s, g) => (s & 0x7C00) == 0x7C00 || float.IsInfinity(r0[g]))];
                if (!negative && !shuffle)
                {
                    // The production reference (what the fallback groups use) says the same for every maximum.
                    ushort[] sRef = [.. max.Select(Q40Reference.ScaleF16)];
                    CompareHalves(failures, $"{k} Q40Reference.ScaleF16 of every f16 maximum", s0, sRef);
                    CompareFloats(failures, $"{k} Q40Reference.Reciprocal of every f16 maximum's scale", r0, [.. sRef.Select(Q40Reference.Reciprocal)]);
                }

                var s1 = new ushort[Groups];
                var r1 = new float[Groups];
                string order = $"{(shuffle ? "shuffled" : "ascending")} maxima, {(negative ? "negative" : "positive")}";
                for (int g0 = 0, n = 64; g0 < Groups; g0 += n)
                {
                    n = Math.Min(shuffle ? rng.Next(1, 71) : 64, Groups - g0);
                    bool got = TKernel.ScalesFromHalves(values.AsSpan(g0 * LiteralQ40.N, n * LiteralQ40.N), s1.AsSpan(g0, n), r1.AsSpan(g0, n));
                    bool expected = special.AsSpan(g0, n).Contains(true);
                    if (got != expected)
                    {
                        failures.Add($"{k} ScalesFromHalves {order}, groups {g0}..{g0 + n - 1}: returned {got}, expected {expected}");
                    }
                }

                CompareHalves(failures, $"{k} ScalesFromHalves scales, {order}", s0, s1);
                CompareFloats(failures, $"{k} ScalesFromHalves reciprocals, {order}", r0, r1);

                float[] widened = [.. values.Select(LiteralQ40.HalfToSingle)];
                byte[] bytes = MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
                Compare(failures, $"{k} f16 min-max over every maximum, {order}", LiteralQ40.QuantizeMinMax(widened, halfArithmetic: true), Quantize(TKernel.Kind, DType.F16, bytes, Groups, 1f));
            }
        }

        return failures;
    }

    private static void CompareWidening<TKernel>(List<string> failures, string what, ReadOnlySpan<ushort> src)
        where TKernel : struct, IQ40Kernel
    {
        var widened = new float[src.Length];
        TKernel.WidenHalf(src, widened);
        CompareFloats(failures, $"WidenHalf {what}", [.. src.ToArray().Select(LiteralQ40.HalfToSingle)], widened);
        TKernel.WidenBFloat16(src, widened);
        CompareFloats(failures, $"WidenBFloat16 {what}", [.. src.ToArray().Select(LiteralQ40.BFloat16ToSingle)], widened);
    }

    // The literal encoding of groups for given scales and reciprocals (the reciprocal is used as given).
    private static byte[] LiteralEncode(float[] values, ushort[] scales, float[] reciprocals, bool half)
    {
        var blocks = new byte[scales.Length * 18];
        for (int g = 0; g < scales.Length; g++)
        {
            LiteralQ40.WriteBlock(scales[g], LiteralQ40.Codes(values.AsSpan(g * 32, 32), reciprocals[g], half), blocks.AsSpan(g * 18, 18));
        }

        return blocks;
    }

    // Replaces every value of a group holding a NaN or an infinity by 0.25: the encode stage only sees finite groups.
    private static ushort[] FiniteGroups(ushort[] bits, bool isHalf)
    {
        ushort quarter = isHalf ? (ushort)0x3400 : (ushort)0x3E80;
        for (int g = 0; g < bits.Length / 32; g++)
        {
            Span<ushort> x = bits.AsSpan(g * 32, 32);
            bool finite = true;
            foreach (ushort v in x)
            {
                finite &= isHalf ? (v & 0x7C00) != 0x7C00 : (v & 0x7F80) != 0x7F80;
            }

            if (!finite)
            {
                x.Fill(quarter);
            }
        }

        return bits;
    }

    private static byte[] Quantize(Q40KernelKind kind, DType dtype, ReadOnlySpan<byte> source, int groups, float percentile)
    {
        var b = new byte[groups * 18];
        Q40Kernels.QuantizeMinMax(kind, dtype, source, b, percentile);
        return b;
    }

    private static byte[] EncodeWithScales(Q40KernelKind kind, DType dtype, byte[] source, ushort[] scales)
    {
        var b = new byte[scales.Length * 18];
        Q40Kernels.EncodeWithScales(kind, dtype, source, scales, b);
        return b;
    }

    private static void Compare(List<string> failures, string what, byte[] expected, byte[] actual)
    {
        int i = expected.AsSpan().SequenceEqual(actual) ? -1 : expected.AsSpan().CommonPrefixLength(actual);
        if (i >= 0)
        {
            failures.Add($"{what}: first difference at byte {i} (group {i / 18}): got {(i < actual.Length ? actual[i] : -1):X2}, expected {(i < expected.Length ? expected[i] : -1):X2}");
        }
    }

    private static void CompareHalves(List<string> failures, string what, ushort[] expected, ushort[] actual)
    {
        int i = expected.AsSpan().SequenceEqual(actual) ? -1 : expected.AsSpan().CommonPrefixLength(actual);
        if (i >= 0)
        {
            failures.Add($"{what}: index {i}: got {actual[i]:X4}, expected {expected[i]:X4}");
        }
    }

    private static void CompareFloats(List<string> failures, string what, float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToUInt32Bits(expected[i]) != BitConverter.SingleToUInt32Bits(actual[i]))
            {
                failures.Add($"{what}: index {i}: got {BitConverter.SingleToUInt32Bits(actual[i]):X8}, expected {BitConverter.SingleToUInt32Bits(expected[i]):X8}");
                return;
            }
        }
    }
}
