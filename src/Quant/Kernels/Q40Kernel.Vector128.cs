using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Quant.Kernels;

/// <summary>
/// 128-bit kernel written with the cross-platform <see cref="Vector128"/> API only (SSE4 on x86, AdvSimd on Arm):
/// one group is eight 4-lane vectors. Bit-identical to <see cref="Q40Reference"/> (see <see cref="IQ40Kernel"/> for
/// the groups it leaves to the reference).
/// </summary>
[SkipLocalsInit]
internal readonly struct Q40Vector128Kernel : IQ40Kernel
{
    private const int N = Q40Format.GroupSize;
    private const int B = Q40Format.BlockBytes;
    private const int L = 4;

    /// <inheritdoc />
    public static Q40KernelKind Kind => Q40KernelKind.Vector128;

    /// <inheritdoc />
    public static bool IsSupported => Vector128.IsHardwareAccelerated;

    /// <inheritdoc />
    public static void WidenHalf(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        ref ushort src = ref MemoryMarshal.GetReference(source);
        ref float dst = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        for (; i <= source.Length - 8; i += 8)
        {
            Vector128<ushort> h = Vector128.LoadUnsafe(ref src, (nuint)i);
            HalfToSingle(Vector128.WidenLower(h)).StoreUnsafe(ref dst, (nuint)i);
            HalfToSingle(Vector128.WidenUpper(h)).StoreUnsafe(ref dst, (nuint)(i + L));
        }

        for (; i < source.Length; i++)
        {
            Unsafe.Add(ref dst, i) = HalfBits.ToSingle(Unsafe.Add(ref src, i));
        }
    }

    /// <inheritdoc />
    public static void WidenBFloat16(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        ref ushort src = ref MemoryMarshal.GetReference(source);
        ref float dst = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        for (; i <= source.Length - 8; i += 8)
        {
            Vector128<ushort> h = Vector128.LoadUnsafe(ref src, (nuint)i);
            (Vector128.WidenLower(h) << 16).AsSingle().StoreUnsafe(ref dst, (nuint)i);
            (Vector128.WidenUpper(h) << 16).AsSingle().StoreUnsafe(ref dst, (nuint)(i + L));
        }

        for (; i < source.Length; i++)
        {
            Unsafe.Add(ref dst, i) = BitConverter.UInt32BitsToSingle((uint)Unsafe.Add(ref src, i) << 16);
        }
    }

    /// <inheritdoc />
    public static void AbsMax(ReadOnlySpan<float> values, Span<float> absMax)
    {
        ref uint x = ref Unsafe.As<float, uint>(ref MemoryMarshal.GetReference(values));
        Vector128<uint> mask = Vector128.Create(0x7FFF_FFFFu);
        for (int g = 0; g < absMax.Length; g++)
        {
            ref uint p = ref Unsafe.Add(ref x, g * N);
            Vector128<uint> m = Vector128.LoadUnsafe(ref p) & mask;
            for (int k = 1; k < N / L; k++)
            {
                m = Vector128.Max(m, Vector128.LoadUnsafe(ref p, (nuint)(k * L)) & mask);
            }

            absMax[g] = BitConverter.UInt32BitsToSingle(HorizontalMax(m));
        }
    }

    /// <inheritdoc />
    public static void AbsMaxBits(ReadOnlySpan<ushort> values, Span<ushort> absMaxBits)
    {
        ref ushort x = ref MemoryMarshal.GetReference(values);
        Vector128<ushort> mask = Vector128.Create((ushort)0x7FFF);
        for (int g = 0; g < absMaxBits.Length; g++)
        {
            ref ushort p = ref Unsafe.Add(ref x, g * N);
            Vector128<ushort> m = Vector128.Max(
                Vector128.Max(Vector128.LoadUnsafe(ref p) & mask, Vector128.LoadUnsafe(ref p, 8) & mask),
                Vector128.Max(Vector128.LoadUnsafe(ref p, 16) & mask, Vector128.LoadUnsafe(ref p, 24) & mask));
            Vector128<uint> folded = Vector128.Max(m, (m.AsUInt32() >> 16).AsUInt16()).AsUInt32() & Vector128.Create(0xFFFFu);
            absMaxBits[g] = (ushort)HorizontalMax(folded);
        }
    }

    /// <inheritdoc />
    public static bool ScalesFromHalves(ReadOnlySpan<ushort> values, Span<ushort> scales, Span<float> reciprocals) =>
        StagedHalfScales.Compute<Q40Vector128Kernel>(values, scales, reciprocals);

    /// <inheritdoc />
    public static void Scales(ReadOnlySpan<float> absMax, Span<ushort> scales, Span<float> reciprocals)
    {
        ref float a = ref MemoryMarshal.GetReference(absMax);
        ref ushort s = ref MemoryMarshal.GetReference(scales);
        ref float r = ref MemoryMarshal.GetReference(reciprocals);
        int n = absMax.Length;
        int g = 0;
        for (; g <= n - L; g += L)
        {
            Vector128<uint> sh = SingleToHalf(Vector128.LoadUnsafe(ref a, (nuint)g) * Vector128.Create(-0.125f));
            Vector128<float> sf = HalfToSingle(sh);
            Vector128<float> rf = HalfToSingle(SingleToHalf(Vector128<float>.One / sf));
            Vector128.ConditionalSelect(Vector128.Equals(sf, Vector128<float>.Zero), sf, rf).StoreUnsafe(ref r, (nuint)g);
            for (int i = 0; i < L; i++)
            {
                Unsafe.Add(ref s, g + i) = (ushort)sh.GetElement(i);
            }
        }

        for (; g < n; g++)
        {
            ushort sg = Q40Reference.ScaleF32(Unsafe.Add(ref a, g));
            Unsafe.Add(ref s, g) = sg;
            Unsafe.Add(ref r, g) = Q40Reference.Reciprocal(sg);
        }
    }

    /// <inheritdoc />
    public static void EncodeF32(ReadOnlySpan<float> values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks) =>
        Encode<F32Group>(ref Unsafe.As<float, byte>(ref MemoryMarshal.GetReference(values)), scales, reciprocals, blocks);

    /// <inheritdoc />
    public static void EncodeHalf(ReadOnlySpan<ushort> values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks) =>
        Encode<HalfGroup>(ref Unsafe.As<ushort, byte>(ref MemoryMarshal.GetReference(values)), scales, reciprocals, blocks);

    /// <inheritdoc />
    public static void EncodeBFloat16(ReadOnlySpan<ushort> values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks) =>
        Encode<BFloat16Group>(ref Unsafe.As<ushort, byte>(ref MemoryMarshal.GetReference(values)), scales, reciprocals, blocks);

    /// <inheritdoc />
    public static void DequantizeF32(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        ref byte src = ref MemoryMarshal.GetReference(blocks);
        ref float dst = ref MemoryMarshal.GetReference(destination);
        int groups = blocks.Length / B;
        for (int g = 0; g < groups; g++)
        {
            ref byte block = ref Unsafe.Add(ref src, g * B);
            Vector128<float> scale = Vector128.Create(HalfBits.ToSingle(Unsafe.ReadUnaligned<ushort>(ref block)));
            (Vector128<byte> first, Vector128<byte> second) = Codes(Vector128.LoadUnsafe(ref Unsafe.Add(ref block, 2)));
            ref float d = ref Unsafe.Add(ref dst, g * N);
            StoreLevels(first, scale, ref d);
            StoreLevels(second, scale, ref Unsafe.Add(ref d, 16));
        }
    }

    /// <inheritdoc />
    public static void DequantizeF16(ReadOnlySpan<byte> blocks, Span<ushort> destination)
    {
        ref byte src = ref MemoryMarshal.GetReference(blocks);
        ref ushort dst = ref MemoryMarshal.GetReference(destination);
        int groups = blocks.Length / B;
        for (int g = 0; g < groups; g++)
        {
            ref byte block = ref Unsafe.Add(ref src, g * B);
            Vector128<float> scale = Vector128.Create(HalfBits.ToSingle(Unsafe.ReadUnaligned<ushort>(ref block)));
            (Vector128<byte> first, Vector128<byte> second) = Codes(Vector128.LoadUnsafe(ref Unsafe.Add(ref block, 2)));
            ref ushort d = ref Unsafe.Add(ref dst, g * N);
            StoreHalfLevels(first, scale, ref d);
            StoreHalfLevels(second, scale, ref Unsafe.Add(ref d, 16));
        }
    }

    // Codes of each group (from TGroup, which reads the source format) packed with the scale into 18-byte blocks.
    [SkipLocalsInit]
    private static void Encode<TGroup>(ref byte values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks)
        where TGroup : IGroupCodes
    {
        ref byte dst = ref MemoryMarshal.GetReference(blocks);
        Span<Vector128<int>> c = stackalloc Vector128<int>[N / L];
        for (int g = 0; g < scales.Length; g++)
        {
            TGroup.Codes(ref Unsafe.Add(ref values, g * TGroup.GroupBytes), reciprocals[g], c);
            Store(ref Unsafe.Add(ref dst, g * B), scales[g], c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint HorizontalMax(Vector128<uint> m)
    {
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2u, 3, 0, 1)));
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(1u, 0, 3, 2)));
        return m.ToScalar();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> CodesF32(Vector128<float> x, Vector128<float> r)
    {
        Vector128<float> p = x * r;
        Vector128<float> t = p + Vector128.Create(8.5f);
        t = Vector128.MinNative(Vector128.MaxNative(t, Vector128<float>.Zero), Vector128.Create(15f));
        return Vector128.ConvertToInt32Native(t);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> CodesF16(Vector128<float> x, Vector128<float> r)
    {
        Vector128<float> p = RoundToHalfPrecision(x * r);
        Vector128<float> t = RoundToHalfPrecision(p + Vector128.Create(8.5f));
        t = Vector128.MinNative(Vector128.MaxNative(t, Vector128<float>.Zero), Vector128.Create(15f));
        return Vector128.ConvertToInt32Native(t);
    }

    // See Q40Vector512Kernel.RoundToHalfPrecision.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> RoundToHalfPrecision(Vector128<float> v)
    {
        Vector128<float> magic = ((v.AsUInt32() & Vector128.Create(0xFF80_0000u)) + Vector128.Create(0x0680_0000u)).AsSingle();
        return (v + magic) - magic;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> ScaledHalf(Vector128<int> h) =>
        ((h << 13) & Vector128.Create(unchecked((int)0x8FFF_FFFF))).AsSingle();

    // Writes the scale and 16 packed bytes from eight vectors of 4 codes in element order.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ref byte block, ushort scale, ReadOnlySpan<Vector128<int>> c)
    {
        // GGML order: byte j = code[j] | code[j+16] << 4.
        Vector128<ushort> w0 = Vector128.Narrow((c[0] | (c[4] << 4)).AsUInt32(), (c[1] | (c[5] << 4)).AsUInt32());
        Vector128<ushort> w1 = Vector128.Narrow((c[2] | (c[6] << 4)).AsUInt32(), (c[3] | (c[7] << 4)).AsUInt32());
        Unsafe.WriteUnaligned(ref block, scale);
        Vector128.Narrow(w0, w1).StoreUnsafe(ref Unsafe.Add(ref block, 2));
    }

    // The 32 codes of a block as two vectors of 16 bytes, in element order (low nibbles, then high nibbles).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<byte> First, Vector128<byte> Second) Codes(Vector128<byte> packed) =>
        (packed & Vector128.Create((byte)0x0F), (packed.AsUInt16() >> 4).AsByte() & Vector128.Create((byte)0x0F));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreLevels(Vector128<byte> codes, Vector128<float> scale, ref float d)
    {
        Vector128<ushort> lo = Vector128.WidenLower(codes);
        Vector128<ushort> hi = Vector128.WidenUpper(codes);
        (Level(Vector128.WidenLower(lo)) * scale).StoreUnsafe(ref d);
        (Level(Vector128.WidenUpper(lo)) * scale).StoreUnsafe(ref d, L);
        (Level(Vector128.WidenLower(hi)) * scale).StoreUnsafe(ref d, 2 * L);
        (Level(Vector128.WidenUpper(hi)) * scale).StoreUnsafe(ref d, 3 * L);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreHalfLevels(Vector128<byte> codes, Vector128<float> scale, ref ushort d)
    {
        Vector128<ushort> lo = Vector128.WidenLower(codes);
        Vector128<ushort> hi = Vector128.WidenUpper(codes);
        Vector128.Narrow(SingleToHalf(Level(Vector128.WidenLower(lo)) * scale), SingleToHalf(Level(Vector128.WidenUpper(lo)) * scale)).StoreUnsafe(ref d);
        Vector128.Narrow(SingleToHalf(Level(Vector128.WidenLower(hi)) * scale), SingleToHalf(Level(Vector128.WidenUpper(hi)) * scale)).StoreUnsafe(ref d, 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Level(Vector128<uint> codes) => Vector128.ConvertToSingle(codes.AsInt32() - Vector128.Create(8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> HalfToSingle(Vector128<uint> h)
    {
        Vector128<uint> em = h & Vector128.Create(0x7FFFu);
        Vector128<uint> sign = (h & Vector128.Create(0x8000u)) << 16;
        Vector128<uint> finite = ((em << 13).AsSingle() * Vector128.Create(HalfBits.TwoPow112)).AsUInt32();
        Vector128<uint> special = Vector128.Create(0x7F80_0000u) | ((em & Vector128.Create(0x3FFu)) << 13);
        special |= Vector128.ConditionalSelect(Vector128.GreaterThan(em, Vector128.Create(0x7C00u)), Vector128.Create(0x0040_0000u), Vector128<uint>.Zero);
        Vector128<uint> isSpecial = Vector128.GreaterThanOrEqual(em, Vector128.Create(0x7C00u));
        return (Vector128.ConditionalSelect(isSpecial, special, finite) | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> SingleToHalf(Vector128<float> v)
    {
        Vector128<uint> bits = v.AsUInt32();
        Vector128<uint> sign = (bits >> 16) & Vector128.Create(0x8000u);
        Vector128<uint> f = bits & Vector128.Create(0x7FFF_FFFFu);
        Vector128<uint> sub = (f.AsSingle() + Vector128.Create(0.5f)).AsUInt32() - Vector128.Create(0x3F00_0000u);
        Vector128<uint> normal = (f + Vector128.Create(0xC800_0FFFu) + ((f >> 13) & Vector128<uint>.One)) >> 13;
        Vector128<uint> result = Vector128.ConditionalSelect(Vector128.LessThan(f, Vector128.Create(0x3880_0000u)), sub, normal);
        result = Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(f, Vector128.Create(0x4780_0000u)), Vector128.Create(0x7C00u), result) | sign;
        return Vector128.ConditionalSelect(Vector128.GreaterThan(f, Vector128.Create(0x7F80_0000u)), Vector128.Create((uint)HalfBits.CanonicalNaN), result);
    }

    /// <summary>Computes the 32 codes of one group of some source format into eight 4-lane vectors.</summary>
    private interface IGroupCodes
    {
        static abstract int GroupBytes { get; }

        static abstract void Codes(ref byte group, float reciprocal, Span<Vector128<int>> codes);
    }

    /// <summary>f32 values, f32 arithmetic.</summary>
    private readonly struct F32Group : IGroupCodes
    {
        public static int GroupBytes => N * sizeof(float);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Codes(ref byte group, float reciprocal, Span<Vector128<int>> codes)
        {
            ref float p = ref Unsafe.As<byte, float>(ref group);
            Vector128<float> r = Vector128.Create(reciprocal);
            for (int k = 0; k < N / L; k++)
            {
                codes[k] = CodesF32(Vector128.LoadUnsafe(ref p, (nuint)(k * L)), r);
            }
        }
    }

    /// <summary>f16 values, f16 arithmetic (shifted f16 bits are x * 2^-112, so r is scaled by 2^112, exactly).</summary>
    private readonly struct HalfGroup : IGroupCodes
    {
        public static int GroupBytes => N * sizeof(ushort);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Codes(ref byte group, float reciprocal, Span<Vector128<int>> codes)
        {
            ref short p = ref Unsafe.As<byte, short>(ref group);
            Vector128<float> r = Vector128.Create(reciprocal * HalfBits.TwoPow112);
            for (int k = 0; k < N / 8; k++)
            {
                Vector128<short> h = Vector128.LoadUnsafe(ref p, (nuint)(k * 8));
                codes[2 * k] = CodesF16(ScaledHalf(Vector128.WidenLower(h)), r);
                codes[(2 * k) + 1] = CodesF16(ScaledHalf(Vector128.WidenUpper(h)), r);
            }
        }
    }

    /// <summary>bf16 values, widened exactly, f32 arithmetic.</summary>
    private readonly struct BFloat16Group : IGroupCodes
    {
        public static int GroupBytes => N * sizeof(ushort);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Codes(ref byte group, float reciprocal, Span<Vector128<int>> codes)
        {
            ref ushort p = ref Unsafe.As<byte, ushort>(ref group);
            Vector128<float> r = Vector128.Create(reciprocal);
            for (int k = 0; k < N / 8; k++)
            {
                Vector128<ushort> h = Vector128.LoadUnsafe(ref p, (nuint)(k * 8));
                codes[2 * k] = CodesF32((Vector128.WidenLower(h) << 16).AsSingle(), r);
                codes[(2 * k) + 1] = CodesF32((Vector128.WidenUpper(h) << 16).AsSingle(), r);
            }
        }
    }
}
