using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TorchToNnef.Formats.Checksums;

/// <summary>
/// CRC-32 by folding with carry-less multiply (the method of Intel's "Fast CRC Computation for Generic Polynomials Using
/// PCLMULQDQ Instruction", 2009, reflected form). Four accumulators of one vector each take the input's first bytes, the
/// CRC register XORed into the first four; each step multiplies every 128-bit lane of an accumulator by x^(4 * width)
/// mod P (two 64 x 64-bit products, <see cref="GzipCrc32Polynomial.FoldPair"/>) and XORs in the next vector of data, so
/// the accumulators keep a value congruent to the bytes read so far, modulo P. At the end they are folded into one
/// 128-bit value; its 16 bytes and the input's last few bytes then go through the tables
/// (<see cref="GzipCrc32Scalar"/>), which give the CRC of any bytes congruent to the input. Callers check the CPU
/// (<see cref="GzipCrc32.IsSupported"/>) and the minimum lengths.
/// </summary>
internal static class GzipCrc32Folding
{
    /// <summary>Shortest input of <see cref="UpdateVector128"/>: four 16-byte accumulators.</summary>
    internal const int MinimumVector128 = 4 * 16;

    /// <summary>Shortest input of <see cref="UpdateVector256"/>: four 32-byte accumulators.</summary>
    internal const int MinimumVector256 = 4 * 32;

    /// <summary>Shortest input of <see cref="UpdateVector512"/>: four 64-byte accumulators.</summary>
    internal const int MinimumVector512 = 4 * 64;

    // Multipliers (low, high) that fold 128-bit lanes by a distance in bits: the loop strides of the three widths
    // (4 accumulators of 128, 256 and 512 bits) and the distances between the lanes when the accumulators are combined.
    // They are GzipCrc32Polynomial.FoldPair(distance), written as constants so that the kernels load them from the
    // image with no class-constructor check (a static field cost the AOT build a check before the loop, and the
    // accumulators were then kept on the stack through the loop); a test derives each from the polynomial.
    private const ulong Fold128Low = 0x1_7519_97D0, Fold128High = 0x0_CCAA_009E;
    private const ulong Fold256Low = 0x0_F1DA_05AA, Fold256High = 0x1_5A54_6366;
    private const ulong Fold384Low = 0x0_3DB1_ECDC, Fold384High = 0x1_7435_9406;
    private const ulong Fold512Low = 0x1_5444_2BD4, Fold512High = 0x1_C6E4_1596;
    private const ulong Fold1024Low = 0x1_E88E_F372, Fold1024High = 0x1_4A7F_E880;
    private const ulong Fold2048Low = 0x1_1542_778A, Fold2048High = 0x1_322D_1430;

    /// <summary>The fold multipliers by distance in bits, for the test that derives them from the polynomial.</summary>
    internal static IReadOnlyList<(int Distance, ulong Low, ulong High)> FoldConstants { get; } =
    [
        (128, Fold128Low, Fold128High), (256, Fold256Low, Fold256High), (384, Fold384Low, Fold384High),
        (512, Fold512Low, Fold512High), (1024, Fold1024Low, Fold1024High), (2048, Fold2048Low, Fold2048High),
    ];

    /// <summary>Advances the CRC register over <paramref name="data"/> (at least <see cref="MinimumVector128"/> bytes) 64 bytes a step.</summary>
    internal static uint UpdateVector128(uint state, ReadOnlySpan<byte> data)
    {
        ref byte p = ref MemoryMarshal.GetReference(data);
        nuint n = (nuint)data.Length;
        Vector128<ulong> a0 = Load128(ref p, 0) ^ Vector128.CreateScalar((ulong)state);
        Vector128<ulong> a1 = Load128(ref p, 16);
        Vector128<ulong> a2 = Load128(ref p, 32);
        Vector128<ulong> a3 = Load128(ref p, 48);
        Vector128<ulong> k = Vector128.Create(Fold512Low, Fold512High);
        nuint i = MinimumVector128;
        for (; n - i >= MinimumVector128; i += MinimumVector128)
        {
            a0 = Fold(a0, Load128(ref p, i), k);
            a1 = Fold(a1, Load128(ref p, i + 16), k);
            a2 = Fold(a2, Load128(ref p, i + 32), k);
            a3 = Fold(a3, Load128(ref p, i + 48), k);
        }

        k = Vector128.Create(Fold128Low, Fold128High);
        a0 = Fold(Fold(Fold(a0, a1, k), a2, k), a3, k);
        return Finish(a0, ref p, i, n);
    }

    /// <summary>Advances the CRC register over <paramref name="data"/> (at least <see cref="MinimumVector256"/> bytes) 128 bytes a step.</summary>
    internal static uint UpdateVector256(uint state, ReadOnlySpan<byte> data)
    {
        ref byte p = ref MemoryMarshal.GetReference(data);
        nuint n = (nuint)data.Length;
        Vector256<ulong> a0 = Load256(ref p, 0) ^ Vector256.CreateScalar((ulong)state);
        Vector256<ulong> a1 = Load256(ref p, 32);
        Vector256<ulong> a2 = Load256(ref p, 64);
        Vector256<ulong> a3 = Load256(ref p, 96);
        Vector256<ulong> k = Vector256.Create(Vector128.Create(Fold1024Low, Fold1024High));
        nuint i = MinimumVector256;
        for (; n - i >= MinimumVector256; i += MinimumVector256)
        {
            a0 = Fold(a0, Load256(ref p, i), k);
            a1 = Fold(a1, Load256(ref p, i + 32), k);
            a2 = Fold(a2, Load256(ref p, i + 64), k);
            a3 = Fold(a3, Load256(ref p, i + 96), k);
        }

        k = Vector256.Create(Vector128.Create(Fold256Low, Fold256High));
        a0 = Fold(Fold(Fold(a0, a1, k), a2, k), a3, k);
        for (; n - i >= 32; i += 32)
        {
            a0 = Fold(a0, Load256(ref p, i), k);
        }

        return Finish(Fold(a0.GetLower(), a0.GetUpper(), Vector128.Create(Fold128Low, Fold128High)), ref p, i, n);
    }

    /// <summary>Advances the CRC register over <paramref name="data"/> (at least <see cref="MinimumVector512"/> bytes) 256 bytes a step.</summary>
    internal static uint UpdateVector512(uint state, ReadOnlySpan<byte> data)
    {
        ref byte p = ref MemoryMarshal.GetReference(data);
        nuint n = (nuint)data.Length;
        Vector512<ulong> a0 = Load512(ref p, 0) ^ Vector512.CreateScalar((ulong)state);
        Vector512<ulong> a1 = Load512(ref p, 64);
        Vector512<ulong> a2 = Load512(ref p, 128);
        Vector512<ulong> a3 = Load512(ref p, 192);
        Vector512<ulong> k = Vector512.Create(Vector128.Create(Fold2048Low, Fold2048High));
        nuint i = MinimumVector512;
        for (; n - i >= MinimumVector512; i += MinimumVector512)
        {
            a0 = Fold(a0, Load512(ref p, i), k);
            a1 = Fold(a1, Load512(ref p, i + 64), k);
            a2 = Fold(a2, Load512(ref p, i + 128), k);
            a3 = Fold(a3, Load512(ref p, i + 192), k);
        }

        k = Vector512.Create(Vector128.Create(Fold512Low, Fold512High));
        a0 = Fold(Fold(Fold(a0, a1, k), a2, k), a3, k);
        for (; n - i >= 64; i += 64)
        {
            a0 = Fold(a0, Load512(ref p, i), k);
        }

        // The four lanes onto the last one, in one multiply: lane j moves by (3 - j) * 128 bits, the last by nothing.
        Vector512<ulong> lanes = Vector512.Create(
            Vector256.Create(Vector128.Create(Fold384Low, Fold384High), Vector128.Create(Fold256Low, Fold256High)),
            Vector256.Create(Vector128.Create(Fold128Low, Fold128High), Vector128<ulong>.Zero));
        Vector512<ulong> t = Pclmulqdq.V512.CarrylessMultiply(a0, lanes, 0x00) ^ Pclmulqdq.V512.CarrylessMultiply(a0, lanes, 0x11);
        Vector128<ulong> x = t.GetLower().GetLower() ^ t.GetLower().GetUpper() ^ t.GetUpper().GetLower() ^ a0.GetUpper().GetUpper();
        return Finish(x, ref p, i, n);
    }

    // Folds 16-byte blocks into the 128-bit accumulator, then runs the tables over its bytes and the last 0-15 input bytes.
    private static uint Finish(Vector128<ulong> a, ref byte p, nuint i, nuint n)
    {
        Vector128<ulong> k = Vector128.Create(Fold128Low, Fold128High);
        for (; n - i >= 16; i += 16)
        {
            a = Fold(a, Load128(ref p, i), k);
        }

        Span<byte> folded = stackalloc byte[16];
        a.AsByte().CopyTo(folded);
        uint state = GzipCrc32Scalar.Update(0, folded);
        return GzipCrc32Scalar.Update(state, MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref p, i), (int)(n - i)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Fold(Vector128<ulong> acc, Vector128<ulong> data, Vector128<ulong> k) =>
        Pclmulqdq.CarrylessMultiply(acc, k, 0x00) ^ Pclmulqdq.CarrylessMultiply(acc, k, 0x11) ^ data;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Fold(Vector256<ulong> acc, Vector256<ulong> data, Vector256<ulong> k) =>
        Pclmulqdq.V256.CarrylessMultiply(acc, k, 0x00) ^ Pclmulqdq.V256.CarrylessMultiply(acc, k, 0x11) ^ data;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Fold(Vector512<ulong> acc, Vector512<ulong> data, Vector512<ulong> k) =>
        Pclmulqdq.V512.CarrylessMultiply(acc, k, 0x00) ^ Pclmulqdq.V512.CarrylessMultiply(acc, k, 0x11) ^ data;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ulong> Load128(ref byte p, nuint offset) => Vector128.LoadUnsafe(ref p, offset).AsUInt64();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> Load256(ref byte p, nuint offset) => Vector256.LoadUnsafe(ref p, offset).AsUInt64();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Load512(ref byte p, nuint offset) => Vector512.LoadUnsafe(ref p, offset).AsUInt64();
}
