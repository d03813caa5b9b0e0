using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TorchToNnef.Quant.Kernels;

/// <summary>
/// AVX-512 kernel: one group is two 16-lane vectors. Absolute maxima of 16 groups are reduced together (a transposing
/// tree, about 3 shuffles per group instead of a full horizontal reduction each), scales and reciprocals are computed
/// 16 groups at a time, and codes are narrowed with <c>vpmovdb</c>/<c>vpmovqb</c>. Bit-identical to
/// <see cref="Q40Reference"/> (see <see cref="IQ40Kernel"/> for the groups it leaves to the reference).
/// </summary>
[SkipLocalsInit]
internal readonly struct Q40Vector512Kernel : IQ40Kernel
{
    private const int N = Q40Format.GroupSize;
    private const int B = Q40Format.BlockBytes;
    private const int L = 16;

    /// <inheritdoc />
    public static Q40KernelKind Kind => Q40KernelKind.Vector512;

    /// <inheritdoc />
    public static bool IsSupported => Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Avx512BW.IsSupported;

    /// <inheritdoc />
    public static void WidenHalf(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        ref ushort src = ref MemoryMarshal.GetReference(source);
        ref float dst = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        for (; i <= source.Length - L; i += L)
        {
            Vector512<uint> h = Avx512F.ConvertToVector512UInt32(Vector256.LoadUnsafe(ref src, (nuint)i));
            HalfToSingle(h).StoreUnsafe(ref dst, (nuint)i);
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
        for (; i <= source.Length - L; i += L)
        {
            Vector512<uint> h = Avx512F.ConvertToVector512UInt32(Vector256.LoadUnsafe(ref src, (nuint)i));
            (h << 16).AsSingle().StoreUnsafe(ref dst, (nuint)i);
        }

        for (; i < source.Length; i++)
        {
            Unsafe.Add(ref dst, i) = BitConverter.UInt32BitsToSingle((uint)Unsafe.Add(ref src, i) << 16);
        }
    }

    /// <inheritdoc />
    public static void AbsMax(ReadOnlySpan<float> values, Span<float> absMax) =>
        ReduceGroups<F32Partial>(ref Unsafe.As<float, byte>(ref MemoryMarshal.GetReference(values)), absMax.Length, MemoryMarshal.Cast<float, uint>(absMax));

    /// <inheritdoc />
    [SkipLocalsInit]
    public static void AbsMaxBits(ReadOnlySpan<ushort> values, Span<ushort> absMaxBits)
    {
        Span<uint> wide = stackalloc uint[absMaxBits.Length];
        ReduceGroups<U16Partial>(ref Unsafe.As<ushort, byte>(ref MemoryMarshal.GetReference(values)), absMaxBits.Length, wide);
        for (int g = 0; g < wide.Length; g++)
        {
            absMaxBits[g] = (ushort)wide[g];
        }
    }

    /// <inheritdoc />
    public static bool ScalesFromHalves(ReadOnlySpan<ushort> values, Span<ushort> scales, Span<float> reciprocals)
    {
        ref byte src = ref Unsafe.As<ushort, byte>(ref MemoryMarshal.GetReference(values));
        ref ushort s = ref MemoryMarshal.GetReference(scales);
        ref float r = ref MemoryMarshal.GetReference(reciprocals);
        int n = scales.Length;
        Vector512<uint> special = Vector512<uint>.Zero;
        int g = 0;
        for (; g <= n - L; g += L)
        {
            // a: the 16 maxima as sign-cleared f16 patterns, one per 32-bit lane.
            Vector512<uint> a = ReduceSixteen<U16Partial>(ref Unsafe.Add(ref src, g * U16Partial.GroupBytes));
            Vector512<uint> sh;
            Vector512<float> rf;
            if (Vector512.LessThan(a.AsInt32() + Vector512.Create(NormalHalfScale.Bias), Vector512.Create(NormalHalfScale.Limit)) == Vector512<int>.Zero)
            {
                // Every a in [2^-11, 65504]: integer operations and one division (see NormalHalfScale).
                sh = a + Vector512.Create(NormalHalfScale.ScaleOffset);
                Vector512<float> sf = ((a << 13) + Vector512.Create(NormalHalfScale.SingleOffset)).AsSingle();
                rf = RoundToHalfPrecision(Vector512<float>.One / sf);
            }
            else
            {
                // Some maximum is tiny (its scale subnormal or zero), infinite or NaN: the exact conversions for all 16.
                (sh, rf) = ExactScales(HalfToSingle(a));
                special |= Vector512.Equals(sh & Vector512.Create(0x7C00u), Vector512.Create(0x7C00u))
                    | Vector512.Equals(rf.AsUInt32() & Vector512.Create(0x7F80_0000u), Vector512.Create(0x7F80_0000u));
            }

            rf.StoreUnsafe(ref r, (nuint)g);
            Avx512F.ConvertToVector256UInt16(sh).StoreUnsafe(ref s, (nuint)g);
        }

        bool any = special != Vector512<uint>.Zero;
        for (; g < n; g++)
        {
            any |= NormalHalfScale.Exact((ushort)ReduceOne<U16Partial>(ref src, g), out Unsafe.Add(ref s, g), out Unsafe.Add(ref r, g));
        }

        return any;
    }

    // scale = f16(a * -1/8) and r = f16(1 / scale) (r = scale for a zero scale), exact for every f32 a: the
    // conversions of IQ40Kernel.Scales.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<uint> Scale, Vector512<float> Reciprocal) ExactScales(Vector512<float> a)
    {
        Vector512<uint> sh = SingleToHalf(a * Vector512.Create(-0.125f));
        Vector512<float> sf = HalfToSingle(sh);
        Vector512<float> rf = HalfToSingle(SingleToHalf(Vector512<float>.One / sf));
        return (sh, Vector512.ConditionalSelect(Vector512.Equals(sf, Vector512<float>.Zero), sf, rf));
    }

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
            (Vector512<uint> sh, Vector512<float> rf) = ExactScales(Vector512.LoadUnsafe(ref a, (nuint)g));
            rf.StoreUnsafe(ref r, (nuint)g);
            Avx512F.ConvertToVector256UInt16(sh).StoreUnsafe(ref s, (nuint)g);
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
            Vector512<float> scale = Vector512.Create(HalfBits.ToSingle(Unsafe.ReadUnaligned<ushort>(ref block)));
            (Vector512<float> lo, Vector512<float> hi) = Levels(Vector128.LoadUnsafe(ref Unsafe.Add(ref block, 2)));
            ref float d = ref Unsafe.Add(ref dst, g * N);
            (lo * scale).StoreUnsafe(ref d);
            (hi * scale).StoreUnsafe(ref d, L);
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
            Vector512<float> scale = Vector512.Create(HalfBits.ToSingle(Unsafe.ReadUnaligned<ushort>(ref block)));
            (Vector512<float> lo, Vector512<float> hi) = Levels(Vector128.LoadUnsafe(ref Unsafe.Add(ref block, 2)));
            ref ushort d = ref Unsafe.Add(ref dst, g * N);
            Avx512F.ConvertToVector256UInt16(SingleToHalf(lo * scale)).StoreUnsafe(ref d);
            Avx512F.ConvertToVector256UInt16(SingleToHalf(hi * scale)).StoreUnsafe(ref d, L);
        }
    }

    // Codes of each group (from TGroup, which reads the source format) packed with the scale into 18-byte blocks.
    private static void Encode<TGroup>(ref byte values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks)
        where TGroup : IGroupCodes
    {
        ref byte dst = ref MemoryMarshal.GetReference(blocks);
        for (int g = 0; g < scales.Length; g++)
        {
            (Vector512<int> lo, Vector512<int> hi) = TGroup.Codes(ref Unsafe.Add(ref values, g * TGroup.GroupBytes), reciprocals[g]);
            ref byte block = ref Unsafe.Add(ref dst, g * B);
            Unsafe.WriteUnaligned(ref block, scales[g]);
            Pack(lo, hi).StoreUnsafe(ref Unsafe.Add(ref block, 2));
        }
    }

    // Reduces groups to their maximum, 16 at a time through a transposing tree; the lane-wise partial maximum of one
    // group (16 lanes) comes from TPartial.
    private static void ReduceGroups<TPartial>(ref byte src, int groups, Span<uint> result)
        where TPartial : IGroupPartial
    {
        ref uint dst = ref MemoryMarshal.GetReference(result);
        int g = 0;
        for (; g <= groups - L; g += L)
        {
            ReduceSixteen<TPartial>(ref Unsafe.Add(ref src, g * TPartial.GroupBytes)).StoreUnsafe(ref dst, (nuint)g);
        }

        for (; g < groups; g++)
        {
            Unsafe.Add(ref dst, g) = ReduceOne<TPartial>(ref src, g);
        }
    }

    // The maxima of the 16 groups at p, in group order, one per 32-bit lane.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> ReduceSixteen<TPartial>(ref byte p)
        where TPartial : IGroupPartial
    {
        Vector512<uint> m01 = Level1<TPartial>(TPartial.Max(ref p, 0), TPartial.Max(ref p, 1));
        Vector512<uint> m23 = Level1<TPartial>(TPartial.Max(ref p, 2), TPartial.Max(ref p, 3));
        Vector512<uint> m45 = Level1<TPartial>(TPartial.Max(ref p, 4), TPartial.Max(ref p, 5));
        Vector512<uint> m67 = Level1<TPartial>(TPartial.Max(ref p, 6), TPartial.Max(ref p, 7));
        Vector512<uint> m89 = Level1<TPartial>(TPartial.Max(ref p, 8), TPartial.Max(ref p, 9));
        Vector512<uint> mAB = Level1<TPartial>(TPartial.Max(ref p, 10), TPartial.Max(ref p, 11));
        Vector512<uint> mCD = Level1<TPartial>(TPartial.Max(ref p, 12), TPartial.Max(ref p, 13));
        Vector512<uint> mEF = Level1<TPartial>(TPartial.Max(ref p, 14), TPartial.Max(ref p, 15));
        Vector512<uint> q0 = Level2<TPartial>(m01, m23);
        Vector512<uint> q1 = Level2<TPartial>(m45, m67);
        Vector512<uint> q2 = Level2<TPartial>(m89, mAB);
        Vector512<uint> q3 = Level2<TPartial>(mCD, mEF);

        // Level 3 pairs groups {0-3} with {4-7} (each 128-bit lane then holds two halves of two groups), level 4
        // takes the max of those halves; lane k ends with groups k, 4+k, 8+k, 12+k (for 16-bit partials, two words
        // per group still, which TPartial.Finish folds) and one permute restores the order.
        Vector512<uint> t0 = TPartial.Combine(Avx512F.UnpackLow(q0.AsUInt64(), q1.AsUInt64()).AsUInt32(), Avx512F.UnpackHigh(q0.AsUInt64(), q1.AsUInt64()).AsUInt32());
        Vector512<uint> t1 = TPartial.Combine(Avx512F.UnpackLow(q2.AsUInt64(), q3.AsUInt64()).AsUInt32(), Avx512F.UnpackHigh(q2.AsUInt64(), q3.AsUInt64()).AsUInt32());
        Vector512<uint> u = TPartial.Combine(
            Avx512F.Shuffle(t0.AsSingle(), t1.AsSingle(), 0b10_00_10_00).AsUInt32(),
            Avx512F.Shuffle(t0.AsSingle(), t1.AsSingle(), 0b11_01_11_01).AsUInt32());
        return Avx512F.PermuteVar16x32(TPartial.Finish(u), Vector512.Create(0u, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
    }

    // The maximum of one group (the tail of a batch).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ReduceOne<TPartial>(ref byte src, int g)
        where TPartial : IGroupPartial
    {
        Vector512<uint> m = TPartial.Max(ref src, g);
        m = TPartial.Combine(m, Avx512F.Shuffle4x128(m, m, 0b01_00_11_10));
        m = TPartial.Combine(m, Avx512F.Shuffle4x128(m, m, 0b10_11_00_01));
        m = TPartial.Combine(m, Avx512F.Shuffle(m, 0b01_00_11_10));
        m = TPartial.Combine(m, Avx512F.Shuffle(m, 0b10_11_00_01));
        return TPartial.Finish(m).ToScalar();
    }

    // [a: 8 partial maxima | b: 8 partial maxima]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Level1<TPartial>(Vector512<uint> a, Vector512<uint> b)
        where TPartial : IGroupPartial =>
        TPartial.Combine(Avx512F.Shuffle4x128(a, b, 0b01_00_01_00), Avx512F.Shuffle4x128(a, b, 0b11_10_11_10));

    // [a: 4 | b: 4 | c: 4 | d: 4] from x = [a 8 | b 8] and y = [c 8 | d 8]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Level2<TPartial>(Vector512<uint> x, Vector512<uint> y)
        where TPartial : IGroupPartial =>
        TPartial.Combine(Avx512F.Shuffle4x128(x, y, 0b10_00_10_00), Avx512F.Shuffle4x128(x, y, 0b11_01_11_01));

    // clamp(floor(x*r + 8.5), 0, 15) with f32 arithmetic. Inputs are finite (the driver checks), so t has no NaN and
    // the native min/max are exact; after clamping, truncation equals floor.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> CodesF32(Vector512<float> x, Vector512<float> r)
    {
        Vector512<float> p = x * r;
        Vector512<float> t = p + Vector512.Create(8.5f);
        t = Vector512.MinNative(Vector512.MaxNative(t, Vector512<float>.Zero), Vector512.Create(15f));
        return Vector512.ConvertToInt32Native(t);
    }

    // As CodesF32 with x*r and +8.5 each rounded to f16 (RoundToHalfPrecision); x arrives scaled by 2^-112 and r by
    // 2^112, so their product is x*r exactly (both have 11 significant bits).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> CodesF16(Vector512<float> x, Vector512<float> r)
    {
        Vector512<float> p = RoundToHalfPrecision(x * r);
        Vector512<float> t = RoundToHalfPrecision(p + Vector512.Create(8.5f));
        t = Vector512.MinNative(Vector512.MaxNative(t, Vector512<float>.Zero), Vector512.Create(15f));
        return Vector512.ConvertToInt32Native(t);
    }

    // Rounds a finite f32 to 11 significant bits, ties to even, by adding and removing 2^(e+13) with the value's sign
    // and exponent e. That is f16 rounding for f16-normal magnitudes, and gives the same code as true f16 rounding
    // elsewhere: products below 2^-14 leave t = f16(p + 8.5) at 8.5 either way, and magnitudes beyond the f16 range
    // (possible with a percentile scale) saturate the code either way.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> RoundToHalfPrecision(Vector512<float> v)
    {
        Vector512<float> magic = ((v.AsUInt32() & Vector512.Create(0xFF80_0000u)) + Vector512.Create(0x0680_0000u)).AsSingle();
        return (v + magic) - magic;
    }

    // f16 values known to be finite (the driver checks), sign-extended to 32 bits and shifted into f32 position:
    // read as f32 they are the value times 2^-112 (f16 subnormals become f32 subnormals, still exact).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ScaledHalf(Vector256<short> h) =>
        ((Avx512F.ConvertToVector512Int32(h) << 13) & Vector512.Create(unchecked((int)0x8FFF_FFFF))).AsSingle();

    // 32 codes to 16 bytes in the GGML order: byte j = c[j] | c[j+16] << 4.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Pack(Vector512<int> lo, Vector512<int> hi) => Avx512F.ConvertToVector128Byte(lo | (hi << 4));

    // The 32 values (code - 8) of a block as floats, in element order.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<float> Lo, Vector512<float> Hi) Levels(Vector128<byte> packed)
    {
        // vpermps only looks at the low 4 bits of each index, so nibbles need no masking.
        Vector512<float> table = Vector512.Create(-8f, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
        Vector512<int> b = Avx512F.ConvertToVector512Int32(packed);
        return (Avx512F.PermuteVar16x32(table, b), Avx512F.PermuteVar16x32(table, b >>> 4));
    }

    // f16 bits (in the low half of each lane) to f32, exact; NaN stays NaN (quiet bit set, as the scalar cast does).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> HalfToSingle(Vector512<uint> h)
    {
        Vector512<uint> em = h & Vector512.Create(0x7FFFu);
        Vector512<uint> sign = (h & Vector512.Create(0x8000u)) << 16;

        // Finite: shifting into place gives 2^-112 times the value (subnormals become f32 subnormals); one exact
        // multiply fixes the exponent.
        Vector512<uint> finite = (((em << 13).AsSingle()) * Vector512.Create(HalfBits.TwoPow112)).AsUInt32();
        Vector512<uint> special = Vector512.Create(0x7F80_0000u) | ((em & Vector512.Create(0x3FFu)) << 13);
        special |= Vector512.ConditionalSelect(Vector512.GreaterThan(em, Vector512.Create(0x7C00u)), Vector512.Create(0x0040_0000u), Vector512<uint>.Zero);
        Vector512<uint> isSpecial = Vector512.GreaterThanOrEqual(em, Vector512.Create(0x7C00u));
        return (Vector512.ConditionalSelect(isSpecial, special, finite) | sign).AsSingle();
    }

    // f32 to f16 bits (low half of each lane), round-to-nearest-even, overflow to infinity, NaN -> 0x7E00.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<uint> SingleToHalf(Vector512<float> v)
    {
        Vector512<uint> bits = v.AsUInt32();
        Vector512<uint> sign = (bits >> 16) & Vector512.Create(0x8000u);
        Vector512<uint> f = bits & Vector512.Create(0x7FFF_FFFFu);

        // Subnormal results: adding 0.5 leaves the f16 subnormal bits at the bottom, rounded to nearest-even.
        Vector512<uint> sub = (f.AsSingle() + Vector512.Create(0.5f)).AsUInt32() - Vector512.Create(0x3F00_0000u);

        // Normal results: rebias the exponent and round on bit 13 (ties to even); a carry may reach infinity.
        Vector512<uint> normal = (f + Vector512.Create(0xC800_0FFFu) + ((f >> 13) & Vector512<uint>.One)) >> 13;
        Vector512<uint> result = Vector512.ConditionalSelect(Vector512.LessThan(f, Vector512.Create(0x3880_0000u)), sub, normal);
        result = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(f, Vector512.Create(0x4780_0000u)), Vector512.Create(0x7C00u), result) | sign;
        return Vector512.ConditionalSelect(Vector512.GreaterThan(f, Vector512.Create(0x7F80_0000u)), Vector512.Create((uint)HalfBits.CanonicalNaN), result);
    }

    /// <summary>
    /// Supplies the lane-wise partial maximum of one group's sign-cleared bits, the lane-wise maximum of two partials
    /// (in the partials' own width) and the fold of a 32-bit lane's partials into its maximum.
    /// </summary>
    private interface IGroupPartial
    {
        static abstract int GroupBytes { get; }

        static abstract Vector512<uint> Max(ref byte groups, int g);

        static abstract Vector512<uint> Combine(Vector512<uint> a, Vector512<uint> b);

        static abstract Vector512<uint> Finish(Vector512<uint> v);
    }

    /// <summary>f32 groups: two vectors, sign bits cleared, lane-wise max.</summary>
    private readonly struct F32Partial : IGroupPartial
    {
        public static int GroupBytes => N * sizeof(float);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> Max(ref byte groups, int g)
        {
            ref uint p = ref Unsafe.As<byte, uint>(ref Unsafe.Add(ref groups, g * GroupBytes));
            Vector512<uint> mask = Vector512.Create(0x7FFF_FFFFu);
            return Vector512.Max(Vector512.LoadUnsafe(ref p) & mask, Vector512.LoadUnsafe(ref p, L) & mask);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> Combine(Vector512<uint> a, Vector512<uint> b) => Vector512.Max(a, b);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> Finish(Vector512<uint> v) => v;
    }

    /// <summary>
    /// f16/bf16 groups: one vector of 32 halves, sign bits cleared, kept as 32 word-wide partials through the tree
    /// (word max); only the 16 results are folded into 32-bit lanes, once per 16 groups instead of once per group.
    /// </summary>
    private readonly struct U16Partial : IGroupPartial
    {
        public static int GroupBytes => N * sizeof(ushort);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> Max(ref byte groups, int g) =>
            (Vector512.LoadUnsafe(ref Unsafe.As<byte, ushort>(ref Unsafe.Add(ref groups, g * GroupBytes))) & Vector512.Create((ushort)0x7FFF)).AsUInt32();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> Combine(Vector512<uint> a, Vector512<uint> b) => Vector512.Max(a.AsUInt16(), b.AsUInt16()).AsUInt32();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<uint> Finish(Vector512<uint> v) => Vector512.Max(v & Vector512.Create(0xFFFFu), v >> 16);
    }

    /// <summary>Computes the 32 codes of one group of some source format (elements 0-15 and 16-31).</summary>
    private interface IGroupCodes
    {
        static abstract int GroupBytes { get; }

        static abstract (Vector512<int> Lo, Vector512<int> Hi) Codes(ref byte group, float reciprocal);
    }

    /// <summary>f32 values, f32 arithmetic.</summary>
    private readonly struct F32Group : IGroupCodes
    {
        public static int GroupBytes => N * sizeof(float);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector512<int> Lo, Vector512<int> Hi) Codes(ref byte group, float reciprocal)
        {
            ref float p = ref Unsafe.As<byte, float>(ref group);
            Vector512<float> r = Vector512.Create(reciprocal);
            return (CodesF32(Vector512.LoadUnsafe(ref p), r), CodesF32(Vector512.LoadUnsafe(ref p, L), r));
        }
    }

    /// <summary>f16 values, f16 arithmetic.</summary>
    private readonly struct HalfGroup : IGroupCodes
    {
        public static int GroupBytes => N * sizeof(ushort);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector512<int> Lo, Vector512<int> Hi) Codes(ref byte group, float reciprocal)
        {
            // The shifted f16 bits are x * 2^-112; scaling r by 2^112 instead (exact: |r| <= 65504) saves a multiply.
            ref short p = ref Unsafe.As<byte, short>(ref group);
            Vector512<float> r = Vector512.Create(reciprocal * HalfBits.TwoPow112);
            return (CodesF16(ScaledHalf(Vector256.LoadUnsafe(ref p)), r), CodesF16(ScaledHalf(Vector256.LoadUnsafe(ref p, L)), r));
        }
    }

    /// <summary>bf16 values, widened exactly, f32 arithmetic.</summary>
    private readonly struct BFloat16Group : IGroupCodes
    {
        public static int GroupBytes => N * sizeof(ushort);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector512<int> Lo, Vector512<int> Hi) Codes(ref byte group, float reciprocal)
        {
            ref ushort p = ref Unsafe.As<byte, ushort>(ref group);
            Vector512<float> r = Vector512.Create(reciprocal);
            Vector512<float> lo = (Avx512F.ConvertToVector512UInt32(Vector256.LoadUnsafe(ref p)) << 16).AsSingle();
            Vector512<float> hi = (Avx512F.ConvertToVector512UInt32(Vector256.LoadUnsafe(ref p, L)) << 16).AsSingle();
            return (CodesF32(lo, r), CodesF32(hi, r));
        }
    }
}
