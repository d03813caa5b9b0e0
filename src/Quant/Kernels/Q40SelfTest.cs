using System.Buffers.Binary;
using System.Runtime.InteropServices;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Kernels;

/// <summary>The outcome of <see cref="Q40SelfTest"/> for one kernel.</summary>
/// <param name="Kind">The kernel checked.</param>
/// <param name="Cases">Comparisons made (one per source type and group count, for quantize and dequantize).</param>
/// <param name="Failures">What disagreed with the scalar reference (empty when the kernel passed).</param>
public sealed record Q40SelfTestResult(Q40KernelKind Kind, int Cases, IReadOnlyList<string> Failures)
{
    /// <summary>True when every comparison was bit-identical to the scalar reference.</summary>
    public bool Passed => Failures.Count == 0;
}

/// <summary>
/// Checks, on the machine it runs on, every Q4_0 kernel the CPU supports against the scalar reference
/// (<c>Q40Reference</c>): min-max quantization of f32, f16 and bf16 values, then dequantization to f32 and f16, for every
/// group count from 1 to a few batches so that each tail of the vector loops runs (the kernels work on one in-memory
/// block layout; tract's legacy nibble order is only a <c>.dat</c> encoding, outside the kernels). Data are generated (seeded), with all-zero groups, huge and tiny magnitudes and a group
/// whose maximum is negative. A kernel passes when every byte and bit equals the reference's.
/// </summary>
public static class Q40SelfTest
{
    private const int N = Q40Format.GroupSize;
    private const int B = Q40Format.BlockBytes;

    /// <summary>Group counts checked: every count up to a few 16-group batches (all tails), then a larger one.</summary>
    public static IReadOnlyList<int> GroupCounts { get; } = [.. Enumerable.Range(1, 50), 133];

    /// <summary>Runs the checks for every kernel this CPU supports, scalar first.</summary>
    public static IReadOnlyList<Q40SelfTestResult> Run(int seed = 1) => [.. Q40Kernels.SupportedKinds.Select(k => Run(k, seed))];

    /// <summary>Runs the checks for one kernel (which must be supported: <see cref="Q40Kernels.IsSupported"/>).</summary>
    public static Q40SelfTestResult Run(Q40KernelKind kind, int seed = 1)
    {
        if (!Q40Kernels.IsSupported(kind))
        {
            throw new ArgumentException($"the {kind} kernel cannot run on this CPU", nameof(kind));
        }

        var failures = new List<string>();
        int cases = 0;
        foreach (DType type in (DType[])[DType.F32, DType.F16, DType.BF16])
        {
            foreach (int groups in GroupCounts)
            {
                byte[] source = Generate(type, groups, seed + groups);
                string where = $"{type.Name()} {groups} group(s)";
                byte[] expected = Reference(type, source, groups);
                byte[] got = new byte[groups * B];
                Q40Kernels.QuantizeMinMax(kind, type, source, got, 1f);
                cases++;
                if (FirstDifference(expected, got) is int at)
                {
                    failures.Add($"quantize {where}: block {at / B} byte {at % B} is {got[at]:X2}, reference {expected[at]:X2}");
                    continue;
                }

                cases += 2;
                CompareDequantize(kind, expected, groups, where, failures);
            }
        }

        return new Q40SelfTestResult(kind, cases, failures);
    }

    private static void CompareDequantize(Q40KernelKind kind, byte[] blocks, int groups, string where, List<string> failures)
    {
        float[] f32 = new float[groups * N];
        float[] f32Reference = new float[groups * N];
        Q40Kernels.DequantizeF32(kind, blocks, f32);
        ushort[] f16 = new ushort[groups * N];
        ushort[] f16Reference = new ushort[groups * N];
        Q40Kernels.DequantizeF16(kind, blocks, f16);
        for (int g = 0; g < groups; g++)
        {
            Q40Reference.DequantizeF32(blocks.AsSpan(g * B, B), f32Reference.AsSpan(g * N, N));
            Q40Reference.DequantizeF16(blocks.AsSpan(g * B, B), f16Reference.AsSpan(g * N, N));
        }

        if (FirstDifference(MemoryMarshal.AsBytes(f32Reference.AsSpan()), MemoryMarshal.AsBytes(f32.AsSpan())) is int a)
        {
            failures.Add($"dequantize to f32, {where}: value {a / 4} is {f32[a / 4]:R}, reference {f32Reference[a / 4]:R}");
        }

        if (FirstDifference(MemoryMarshal.AsBytes(f16Reference.AsSpan()), MemoryMarshal.AsBytes(f16.AsSpan())) is int h)
        {
            failures.Add($"dequantize to f16, {where}: value {h / 2} is 0x{f16[h / 2]:X4}, reference 0x{f16Reference[h / 2]:X4}");
        }
    }

    private static byte[] Reference(DType type, byte[] source, int groups)
    {
        byte[] blocks = new byte[groups * B];
        for (int g = 0; g < groups; g++)
        {
            Span<byte> block = blocks.AsSpan(g * B, B);
            if (type == DType.F32)
            {
                Q40Reference.QuantizeF32(MemoryMarshal.Cast<byte, float>(source.AsSpan(g * N * 4, N * 4)), block);
            }
            else
            {
                ReadOnlySpan<ushort> group = MemoryMarshal.Cast<byte, ushort>(source.AsSpan(g * N * 2, N * 2));
                if (type == DType.F16)
                {
                    Q40Reference.QuantizeF16(group, block);
                }
                else
                {
                    Q40Reference.QuantizeBF16(group, block);
                }
            }
        }

        return blocks;
    }

    // Weight-like values with the edge cases kernels get wrong: zero groups, huge and tiny scales, negative maxima, ties.
    private static byte[] Generate(DType type, int groups, int seed)
    {
        var random = new Random(seed);
        int size = type == DType.F32 ? 4 : 2;
        byte[] bytes = new byte[groups * N * size];
        for (int g = 0; g < groups; g++)
        {
            float magnitude = (g % 7) switch
            {
                0 => 1f,
                1 => 0f,
                2 => 3e4f,
                3 => 1e-3f,
                4 => 60000f,
                5 => 0.5f,
                _ => 1e-6f,
            };
            for (int i = 0; i < N; i++)
            {
                float v = (float)((random.NextDouble() * 2) - 1) * magnitude;
                if (g % 5 == 4 && i == 7)
                {
                    v = -magnitude; // the group's maximum is negative
                }

                int offset = ((g * N) + i) * size;
                switch (type)
                {
                    case DType.F32:
                        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(offset), v);
                        break;
                    case DType.F16:
                        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(offset), HalfBits.FromSingle(v));
                        break;
                    default:
                        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(offset), (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16));
                        break;
                }
            }
        }

        return bytes;
    }

    private static int? FirstDifference(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> got)
    {
        int length = Math.Min(expected.Length, got.Length);
        int common = expected[..length].CommonPrefixLength(got[..length]);
        return common == length && expected.Length == got.Length ? null : common;
    }
}
