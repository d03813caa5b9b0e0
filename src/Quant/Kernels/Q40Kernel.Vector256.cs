using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TorchToNnef.Quant.Kernels;

/// <summary>
/// AVX2 kernel: one group is four 8-lane vectors; absolute maxima of 8 groups are reduced together through a
/// transposing tree, scales and reciprocals are computed 8 groups at a time; f16 codes come from the table of
/// <see cref="HalfCodeSteps"/> (one FMA and one table lookup instead of two f16 roundings). Bit-identical to
/// <see cref="Q40Reference"/> (see <see cref="IQ40Kernel"/> for the groups it leaves to the reference).
/// </summary>
[SkipLocalsInit]
internal readonly struct Q40Vector256Kernel : IQ40Kernel
{
    private const int N = Q40Format.GroupSize;
    private const int B = Q40Format.BlockBytes;
    private const int L = 8;

    /// <inheritdoc />
    public static Q40KernelKind Kind => Q40KernelKind.Vector256;

    /// <inheritdoc />
    public static bool IsSupported => Vector256.IsHardwareAccelerated && Avx2.IsSupported;

    /// <inheritdoc />
    public static void WidenHalf(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        ref ushort src = ref MemoryMarshal.GetReference(source);
        ref float dst = ref MemoryMarshal.GetReference(destination);
        int i = 0;
        for (; i <= source.Length - L; i += L)
        {
            HalfToSingle(Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref src, (nuint)i)).AsUInt32()).StoreUnsafe(ref dst, (nuint)i);
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
            (Avx2.ConvertToVector256Int32(Vector128.LoadUnsafe(ref src, (nuint)i)).AsUInt32() << 16).AsSingle().StoreUnsafe(ref dst, (nuint)i);
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
        ref uint w = ref MemoryMarshal.GetReference(wide);
        ref ushort m = ref MemoryMarshal.GetReference(absMaxBits);
        int g = 0;
        for (; g <= wide.Length - (2 * L); g += 2 * L)
        {
            // Maxima of 15-bit patterns: the narrowing keeps them whole.
            Vector256.Narrow(Vector256.LoadUnsafe(ref w, (nuint)g), Vector256.LoadUnsafe(ref w, (nuint)(g + L))).StoreUnsafe(ref m, (nuint)g);
        }

        for (; g < wide.Length; g++)
        {
            Unsafe.Add(ref m, g) = (ushort)Unsafe.Add(ref w, g);
        }
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
            (Vector256<uint> sh, Vector256<float> rf) = ExactScales(Vector256.LoadUnsafe(ref a, (nuint)g));
            rf.StoreUnsafe(ref r, (nuint)g);
            StoreHalves(sh, ref s, g);
        }

        for (; g < n; g++)
        {
            ushort sg = Q40Reference.ScaleF32(Unsafe.Add(ref a, g));
            Unsafe.Add(ref s, g) = sg;
            Unsafe.Add(ref r, g) = Q40Reference.Reciprocal(sg);
        }
    }

    /// <inheritdoc />
    public static bool ScalesFromHalves(ReadOnlySpan<ushort> values, Span<ushort> scales, Span<float> reciprocals)
    {
        ref byte src = ref Unsafe.As<ushort, byte>(ref MemoryMarshal.GetReference(values));
        ref ushort s = ref MemoryMarshal.GetReference(scales);
        ref float r = ref MemoryMarshal.GetReference(reciprocals);
        int n = scales.Length;
        Vector256<uint> special = Vector256<uint>.Zero;
        int g = 0;
        for (; g <= n - L; g += L)
        {
            // a: the 8 maxima as sign-cleared f16 patterns, one per 32-bit lane.
            Vector256<uint> a = ReduceEight<U16Partial>(ref Unsafe.Add(ref src, g * U16Partial.GroupBytes));
            Vector256<uint> sh;
            Vector256<float> rf;
            if (Vector256.LessThan(a.AsInt32() + Vector256.Create(NormalHalfScale.Bias), Vector256.Create(NormalHalfScale.Limit)) == Vector256<int>.Zero)
            {
                // Every a in [2^-11, 65504]: integer operations and one division (see NormalHalfScale).
                sh = a + Vector256.Create(NormalHalfScale.ScaleOffset);
                Vector256<float> sf = ((a << 13) + Vector256.Create(NormalHalfScale.SingleOffset)).AsSingle();
                rf = RoundToHalfPrecision(Vector256<float>.One / sf);
            }
            else
            {
                // Some maximum is tiny (its scale subnormal or zero), infinite or NaN: the exact conversions for all 8.
                (sh, rf) = ExactScales(HalfToSingle(a));
                special |= Vector256.Equals(sh & Vector256.Create(0x7C00u), Vector256.Create(0x7C00u))
                    | Vector256.Equals(rf.AsUInt32() & Vector256.Create(0x7F80_0000u), Vector256.Create(0x7F80_0000u));
            }

            rf.StoreUnsafe(ref r, (nuint)g);
            StoreHalves(sh, ref s, g);
        }

        bool any = special != Vector256<uint>.Zero;
        for (; g < n; g++)
        {
            any |= NormalHalfScale.Exact((ushort)ReduceOne<U16Partial>(ref src, g), out Unsafe.Add(ref s, g), out Unsafe.Add(ref r, g));
        }

        return any;
    }

    // scale = f16(a * -1/8) and r = f16(1 / scale) (r = scale for a zero scale), exact for every f32 a: the
    // conversions of IQ40Kernel.Scales.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<uint> Scale, Vector256<float> Reciprocal) ExactScales(Vector256<float> a)
    {
        Vector256<uint> sh = SingleToHalf(a * Vector256.Create(-0.125f));
        Vector256<float> sf = HalfToSingle(sh);
        Vector256<float> rf = HalfToSingle(SingleToHalf(Vector256<float>.One / sf));
        return (sh, Vector256.ConditionalSelect(Vector256.Equals(sf, Vector256<float>.Zero), sf, rf));
    }

    // Stores the low halves of 8 lanes (each at most 0xFFFF) as 8 ushorts.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreHalves(Vector256<uint> h, ref ushort destination, int g) =>
        Sse41.PackUnsignedSaturate(h.GetLower().AsInt32(), h.GetUpper().AsInt32()).StoreUnsafe(ref destination, (nuint)g);

    /// <inheritdoc />
    public static void EncodeF32(ReadOnlySpan<float> values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks) =>
        Encode<F32Group>(ref Unsafe.As<float, byte>(ref MemoryMarshal.GetReference(values)), scales, reciprocals, blocks);

    /// <inheritdoc />
    public static void EncodeHalf(ReadOnlySpan<ushort> values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks)
    {
        ref short group = ref Unsafe.As<ushort, short>(ref MemoryMarshal.GetReference(values));
        ref ushort scale = ref MemoryMarshal.GetReference(scales);
        ref float r = ref MemoryMarshal.GetReference(reciprocals);
        ref byte block = ref MemoryMarshal.GetReference(blocks);
        ref ushort end = ref Unsafe.Add(ref scale, scales.Length);
        Vector256<float> offsets = Vector256.Create(HalfCodeSteps.Offsets);
        Vector256<int> magnitude = Vector256.Create(unchecked((int)0x8FFF_FFFF));
        Vector256<float> indexOffset = Vector256.Create(HalfCodeSteps.IndexOffset);
        Vector256<byte> fifteen = Vector256.Create((byte)15);

        // vpmaddwd of 16 halves with 2^13 in the low (high) word of each dword: the even (odd) halves sign-extended and
        // shifted into f32 position by one instruction from a 32-byte load, instead of vpmovsxwd and vpslld per 8 halves
        // (the codes come out in even/odd order; the packing below puts them back).
        Vector256<short> even = Vector256.Create(1 << 13).AsInt16();
        Vector256<short> odd = Vector256.Create(1 << 29).AsInt16();

        // After the packs each 128-bit lane holds, per 8 bytes, 4 even elements then 4 odd ones, j and j + 16 four
        // bytes apart (see below); this gathers each lane's paired bytes back into element order.
        Vector256<byte> interleave = Vector256.Create((byte)0, 8, 1, 9, 2, 10, 3, 11, 0, 8, 1, 9, 2, 10, 3, 11, 0, 8, 1, 9, 2, 10, 3, 11, 0, 8, 1, 9, 2, 10, 3, 11);
        for (; Unsafe.IsAddressLessThan(ref scale, ref end); scale = ref Unsafe.Add(ref scale, 1), r = ref Unsafe.Add(ref r, 1), group = ref Unsafe.Add(ref group, N), block = ref Unsafe.Add(ref block, B))
        {
            if ((BitConverter.SingleToInt32Bits(r) & 0x7FFF_FFFF) >= HalfCodeReciprocalLimitBits)
            {
                // Rare (|scale| <= 2^-14, or a non-finite reciprocal the driver re-encodes): the rounding path.
                ref byte bytes = ref Unsafe.As<short, byte>(ref group);
                Vector256<float> rh = HalfGroup.Reciprocal(r);
                Store(ref block, scale, HalfGroup.Codes(ref bytes, 0, rh), HalfGroup.Codes(ref bytes, 1, rh), HalfGroup.Codes(ref bytes, 2, rh), HalfGroup.Codes(ref bytes, 3, rh));
                continue;
            }

            Vector256<float> r1 = Vector256.Create(r) * Vector256.Create(HalfBits.TwoPow112);
            Vector256<float> r4 = r1 * HalfCodeSteps.IndexScale;
            Vector256<short> low = Vector256.LoadUnsafe(ref group);
            Vector256<short> high = Vector256.LoadUnsafe(ref group, 16);

            // Lanes (element numbers): lowEven 0 2 4 6 | 8 10 12 14, lowOdd 1 3 5 7 | 9 11 13 15, highEven and
            // highOdd the same plus 16.
            Vector256<int> lowEven = TableCodes(Avx2.MultiplyAddAdjacent(low, even), r1, r4, indexOffset, offsets, magnitude);
            Vector256<int> lowOdd = TableCodes(Avx2.MultiplyAddAdjacent(low, odd), r1, r4, indexOffset, offsets, magnitude);
            Vector256<int> highEven = TableCodes(Avx2.MultiplyAddAdjacent(high, even), r1, r4, indexOffset, offsets, magnitude);
            Vector256<int> highOdd = TableCodes(Avx2.MultiplyAddAdjacent(high, odd), r1, r4, indexOffset, offsets, magnitude);

            // Codes lie in (-2^30, 2^30) and are not capped yet: the packs saturate negatives to 0, one byte min caps at
            // 15. Bytes per lane: 0 2 4 6 16 18 20 22 1 3 5 7 17 19 21 23 (lane 1: plus 8), so each j has j + 16 four
            // bytes above it: a 64-bit shift right by 28 moves it there, a nibble up (codes <= 15 carry nothing into
            // the next byte), and bytes 0-3 and 8-11 of each lane become the packed bytes j = 0 2 4 6 and 1 3 5 7.
            Vector256<byte> codes = Vector256.Min(Avx2.PackUnsignedSaturate(Avx2.PackSignedSaturate(lowEven, highEven), Avx2.PackSignedSaturate(lowOdd, highOdd)), fifteen);
            Vector256<byte> pairs = Avx2.Shuffle(codes | (codes.AsUInt64() >> 28).AsByte(), interleave);
            Unsafe.WriteUnaligned(ref block, scale);
            Avx2.Permute4x64(pairs.AsUInt64(), 0b10_00_10_00).AsByte().GetLower().StoreUnsafe(ref Unsafe.Add(ref block, 2));
        }
    }

    // Bits of 2^14: below this |r| the table path's products stay below 2^30 (|x| < 2^16), so the rounding conversion
    // cannot overflow, and r * 2^114 (the index argument's scale) stays finite. NaN and infinite r are above it.
    private const int HalfCodeReciprocalLimitBits = 0x4680_0000;

    // Eight f16 codes by HalfCodeSteps from halves sign-extended and shifted left by 13 (bits 28-30 copies of the sign,
    // cleared by magnitude): x arrives scaled by 2^-112 and r by 2^112 (their product is x*r exactly), the index
    // argument is 4*x*r + 1.8125 (r4 = 4 * r1), the code round(x*r + c[index]) with one rounding (fused or not: x*r is
    // exact either way) and the conversion's round-to-nearest-even.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> TableCodes(Vector256<int> shifted, Vector256<float> r1, Vector256<float> r4, Vector256<float> indexOffset, Vector256<float> offsets, Vector256<int> magnitude)
    {
        Vector256<float> x = (shifted & magnitude).AsSingle();
        Vector256<float> s = MultiplyAdd(x, r4, indexOffset);
        Vector256<int> index = Avx2.Sign((s.AsUInt32() >> 23).AsInt32(), s.AsInt32());
        return Avx.ConvertToVector256Int32(MultiplyAdd(x, r1, Avx2.PermuteVar8x32(offsets, index)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : (a * b) + c;

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
            Vector256<float> scale = Vector256.Create(HalfBits.ToSingle(Unsafe.ReadUnaligned<ushort>(ref block)));
            Vector256<byte> codes = Codes(Vector128.LoadUnsafe(ref Unsafe.Add(ref block, 2)));
            ref float d = ref Unsafe.Add(ref dst, g * N);
            (Level(codes.GetLower()) * scale).StoreUnsafe(ref d);
            (Level(Sse2.ShiftRightLogical128BitLane(codes.GetLower(), 8)) * scale).StoreUnsafe(ref d, L);
            (Level(codes.GetUpper()) * scale).StoreUnsafe(ref d, 2 * L);
            (Level(Sse2.ShiftRightLogical128BitLane(codes.GetUpper(), 8)) * scale).StoreUnsafe(ref d, 3 * L);
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
            Vector256<float> scale = Vector256.Create(HalfBits.ToSingle(Unsafe.ReadUnaligned<ushort>(ref block)));
            Vector256<byte> codes = Codes(Vector128.LoadUnsafe(ref Unsafe.Add(ref block, 2)));
            Vector256<uint> h0 = SingleToHalf(Level(codes.GetLower()) * scale);
            Vector256<uint> h1 = SingleToHalf(Level(Sse2.ShiftRightLogical128BitLane(codes.GetLower(), 8)) * scale);
            Vector256<uint> h2 = SingleToHalf(Level(codes.GetUpper()) * scale);
            Vector256<uint> h3 = SingleToHalf(Level(Sse2.ShiftRightLogical128BitLane(codes.GetUpper(), 8)) * scale);
            ref ushort d = ref Unsafe.Add(ref dst, g * N);
            Vector256.Narrow(h0, h1).StoreUnsafe(ref d);
            Vector256.Narrow(h2, h3).StoreUnsafe(ref d, 2 * L);
        }
    }

    // Codes of each group (from TGroup, which reads the source format) packed with the scale into 18-byte blocks.
    private static void Encode<TGroup>(ref byte values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks)
        where TGroup : IGroupCodes
    {
        ref byte dst = ref MemoryMarshal.GetReference(blocks);
        for (int g = 0; g < scales.Length; g++)
        {
            ref byte group = ref Unsafe.Add(ref values, g * TGroup.GroupBytes);
            Vector256<float> r = TGroup.Reciprocal(reciprocals[g]);
            Store(
                ref Unsafe.Add(ref dst, g * B),
                scales[g],
                TGroup.Codes(ref group, 0, r),
                TGroup.Codes(ref group, 1, r),
                TGroup.Codes(ref group, 2, r),
                TGroup.Codes(ref group, 3, r));
        }
    }

    // Reduces groups to their maximum, 8 at a time through a transposing tree.
    private static void ReduceGroups<TPartial>(ref byte src, int groups, Span<uint> result)
        where TPartial : IGroupPartial
    {
        ref uint dst = ref MemoryMarshal.GetReference(result);
        int g = 0;
        for (; g <= groups - L; g += L)
        {
            ReduceEight<TPartial>(ref Unsafe.Add(ref src, g * TPartial.GroupBytes)).StoreUnsafe(ref dst, (nuint)g);
        }

        for (; g < groups; g++)
        {
            Unsafe.Add(ref dst, g) = ReduceOne<TPartial>(ref src, g);
        }
    }

    // The maxima of the 8 groups at p, in group order, one per 32-bit lane.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> ReduceEight<TPartial>(ref byte p)
        where TPartial : IGroupPartial
    {
        // Level 1: [a: 4 | b: 4] per pair of groups (lanes of TPartial's width: 4 dwords, or 8 words for f16/bf16).
        Vector256<uint> ab = Level1<TPartial>(TPartial.Max(ref p, 0), TPartial.Max(ref p, 1));
        Vector256<uint> cd = Level1<TPartial>(TPartial.Max(ref p, 2), TPartial.Max(ref p, 3));
        Vector256<uint> ef = Level1<TPartial>(TPartial.Max(ref p, 4), TPartial.Max(ref p, 5));
        Vector256<uint> gh = Level1<TPartial>(TPartial.Max(ref p, 6), TPartial.Max(ref p, 7));

        // Level 2: per 128-bit lane, two halves of two groups (lane 0: a, c; lane 1: b, d).
        Vector256<uint> abcd = TPartial.Combine(Avx2.UnpackLow(ab.AsUInt64(), cd.AsUInt64()).AsUInt32(), Avx2.UnpackHigh(ab.AsUInt64(), cd.AsUInt64()).AsUInt32());
        Vector256<uint> efgh = TPartial.Combine(Avx2.UnpackLow(ef.AsUInt64(), gh.AsUInt64()).AsUInt32(), Avx2.UnpackHigh(ef.AsUInt64(), gh.AsUInt64()).AsUInt32());

        // Level 3: lane 0 = a, c, e, g; lane 1 = b, d, f, h (for 16-bit partials, two words per group still, which
        // TPartial.Finish folds); one permute restores group order.
        Vector256<uint> u = TPartial.Combine(
            Avx.Shuffle(abcd.AsSingle(), efgh.AsSingle(), 0b10_00_10_00).AsUInt32(),
            Avx.Shuffle(abcd.AsSingle(), efgh.AsSingle(), 0b11_01_11_01).AsUInt32());
        return Avx2.PermuteVar8x32(TPartial.Finish(u), Vector256.Create(0u, 4, 1, 5, 2, 6, 3, 7));
    }

    // The maximum of one group (the tail of a batch).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ReduceOne<TPartial>(ref byte src, int g)
        where TPartial : IGroupPartial
    {
        Vector256<uint> m = TPartial.Max(ref src, g);
        m = TPartial.Combine(m, Avx2.Permute2x128(m, m, 0x01));
        m = TPartial.Combine(m, Avx2.Shuffle(m, 0b01_00_11_10));
        m = TPartial.Combine(m, Avx2.Shuffle(m, 0b10_11_00_01));
        return TPartial.Finish(m).ToScalar();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Level1<TPartial>(Vector256<uint> a, Vector256<uint> b)
        where TPartial : IGroupPartial =>
        TPartial.Combine(Avx2.Permute2x128(a, b, 0x20), Avx2.Permute2x128(a, b, 0x31));

    // floor(x*r + 8.5) with f32 arithmetic, capped at 15 but not floored at 0: Store's saturating packs turn every
    // negative code into 0 (truncation of t in (-1, 0) gives 0 already; t <= -2^31 gives int.MinValue, also
    // negative). Inputs are finite (the driver checks), so t has no NaN.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> CodesF32(Vector256<float> x, Vector256<float> r)
    {
        Vector256<float> p = x * r;
        Vector256<float> t = p + Vector256.Create(8.5f);
        return Vector256.ConvertToInt32Native(Vector256.MinNative(t, Vector256.Create(15f)));
    }

    // As CodesF32 with x*r and +8.5 each rounded to f16. The product is rounded with RoundToHalfPrecision; the sum s
    // needs only floor(f16(s)), which is floor(s + h) with h half an f16 ulp of s's binade (see FloorOfHalfRounded).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> CodesF16(Vector256<float> x, Vector256<float> r)
    {
        Vector256<float> p = RoundToHalfPrecision(x * r);
        Vector256<float> t = FloorOfHalfRoundedArgument(p + Vector256.Create(8.5f));
        return Vector256.ConvertToInt32Native(Vector256.MinNative(t, Vector256.Create(15f)));
    }

    // Returns u with floor(u) = floor(f16(s)) for every finite s (f16 here: 11 significant bits, ties to even), so
    // one add replaces the add/subtract pair of RoundToHalfPrecision. u = s + h, h = 2^(e-11) for s's exponent e
    // (half the f16 ulp of s's binade; integers are multiples of that ulp for 1 <= |s| < 2^11, and even multiples, so
    // a tie k - h rounds up to k):
    // * s >= 1: f16(s) >= k (k integer) exactly when s + h >= k, so the floors agree; s + h is exact in f32 (h is at
    //   least 2^12 f32 ulps of s) or reaches the next power of two, which is itself an integer.
    // * 0.5 <= s < 1: f16(s) = 1 exactly when s >= 1 - 2^-12 = 1 - h; below 0.5 both floors are 0 (h <= s / 2^11;
    //   for tiny s the subtraction wraps into a negative h, still < 1).
    // * s < 0: h > 0 is at most |s| / 2^11, so u <= 0 and the code is 0 either way (negatives saturate to 0 in Store).
    // Above 2^11 the code is 15 either way. The kernel tests check every finite f16 input against the reference.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> FloorOfHalfRoundedArgument(Vector256<float> s)
    {
        Vector256<uint> h = (s.AsUInt32() & Vector256.Create(0x7F80_0000u)) - Vector256.Create(11u << 23);
        return s + h.AsSingle();
    }

    // See Q40Vector512Kernel.RoundToHalfPrecision.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> RoundToHalfPrecision(Vector256<float> v)
    {
        Vector256<float> magic = ((v.AsUInt32() & Vector256.Create(0xFF80_0000u)) + Vector256.Create(0x0680_0000u)).AsSingle();
        return (v + magic) - magic;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ScaledHalf(Vector128<short> h) =>
        ((Avx2.ConvertToVector256Int32(h) << 13) & Vector256.Create(unchecked((int)0x8FFF_FFFF))).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BFloat16(Vector128<ushort> h) => (Avx2.ConvertToVector256Int32(h).AsUInt32() << 16).AsSingle();

    // Writes the scale and 16 packed bytes from four vectors of codes (elements 0-7, 8-15, 16-23, 24-31), each code
    // at most 15 and possibly negative (meaning 0).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ref byte block, ushort scale, Vector256<int> c0, Vector256<int> c1, Vector256<int> c2, Vector256<int> c3)
    {
        // GGML order: byte j = code[j] | code[j+16] << 4. The saturating packs narrow to bytes and turn negative codes
        // into 0 (so the codes need no floor at 0). They work within 128-bit lanes: lane 0 ends as e0-3 e8-11 e16-19
        // e24-27, lane 1 as e4-7 e12-15 e20-23 e28-31 (e = element). Each lane's high 8 bytes shifted into its low 8
        // and up a nibble (a 16-bit shift: codes <= 15 carry nothing across bytes) pair e[j] with e[j+16]; one dword
        // permute orders the low halves as bytes 0-3, 4-7, 8-11, 12-15.
        Vector256<byte> bytes = Avx2.PackUnsignedSaturate(Avx2.PackSignedSaturate(c0, c1), Avx2.PackSignedSaturate(c2, c3));
        Vector256<byte> pairs = bytes | (Avx2.ShiftRightLogical128BitLane(bytes, 8).AsUInt16() << 4).AsByte();
        Unsafe.WriteUnaligned(ref block, scale);
        Avx2.PermuteVar8x32(pairs.AsInt32(), Vector256.Create(0, 4, 1, 5, 0, 4, 1, 5)).AsByte().GetLower().StoreUnsafe(ref Unsafe.Add(ref block, 2));
    }

    // The 32 codes of a block as bytes in element order (low nibbles, then high nibbles).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Codes(Vector128<byte> packed) =>
        Vector256.Create(packed & Vector128.Create((byte)0x0F), (packed.AsUInt16() >> 4).AsByte() & Vector128.Create((byte)0x0F));

    // (code - 8) as floats for the first 8 code bytes.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Level(Vector128<byte> codes) =>
        Vector256.ConvertToSingle(Avx2.ConvertToVector256Int32(codes) - Vector256.Create(8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HalfToSingle(Vector256<uint> h)
    {
        Vector256<uint> em = h & Vector256.Create(0x7FFFu);
        Vector256<uint> sign = (h & Vector256.Create(0x8000u)) << 16;
        Vector256<uint> finite = ((em << 13).AsSingle() * Vector256.Create(HalfBits.TwoPow112)).AsUInt32();
        Vector256<uint> special = Vector256.Create(0x7F80_0000u) | ((em & Vector256.Create(0x3FFu)) << 13);
        special |= Vector256.ConditionalSelect(Vector256.GreaterThan(em, Vector256.Create(0x7C00u)), Vector256.Create(0x0040_0000u), Vector256<uint>.Zero);
        Vector256<uint> isSpecial = Vector256.GreaterThanOrEqual(em, Vector256.Create(0x7C00u));
        return (Vector256.ConditionalSelect(isSpecial, special, finite) | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> SingleToHalf(Vector256<float> v)
    {
        Vector256<uint> bits = v.AsUInt32();
        Vector256<uint> sign = (bits >> 16) & Vector256.Create(0x8000u);
        Vector256<uint> f = bits & Vector256.Create(0x7FFF_FFFFu);
        Vector256<uint> sub = (f.AsSingle() + Vector256.Create(0.5f)).AsUInt32() - Vector256.Create(0x3F00_0000u);
        Vector256<uint> normal = (f + Vector256.Create(0xC800_0FFFu) + ((f >> 13) & Vector256<uint>.One)) >> 13;
        Vector256<uint> result = Vector256.ConditionalSelect(Vector256.LessThan(f, Vector256.Create(0x3880_0000u)), sub, normal);
        result = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(f, Vector256.Create(0x4780_0000u)), Vector256.Create(0x7C00u), result) | sign;
        return Vector256.ConditionalSelect(Vector256.GreaterThan(f, Vector256.Create(0x7F80_0000u)), Vector256.Create((uint)HalfBits.CanonicalNaN), result);
    }

    /// <summary>
    /// Supplies the lane-wise partial maximum of one group's sign-cleared bits, the lane-wise maximum of two partials
    /// (in the partials' own width) and the fold of a 32-bit lane's partials into its maximum.
    /// </summary>
    private interface IGroupPartial
    {
        static abstract int GroupBytes { get; }

        static abstract Vector256<uint> Max(ref byte groups, int g);

        static abstract Vector256<uint> Combine(Vector256<uint> a, Vector256<uint> b);

        static abstract Vector256<uint> Finish(Vector256<uint> v);
    }

    /// <summary>f32 groups: four vectors, sign bits cleared, lane-wise max.</summary>
    private readonly struct F32Partial : IGroupPartial
    {
        public static int GroupBytes => N * sizeof(float);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> Max(ref byte groups, int g)
        {
            ref uint p = ref Unsafe.As<byte, uint>(ref Unsafe.Add(ref groups, g * GroupBytes));
            Vector256<uint> mask = Vector256.Create(0x7FFF_FFFFu);
            Vector256<uint> a = Vector256.Max(Vector256.LoadUnsafe(ref p) & mask, Vector256.LoadUnsafe(ref p, L) & mask);
            Vector256<uint> b = Vector256.Max(Vector256.LoadUnsafe(ref p, 2 * L) & mask, Vector256.LoadUnsafe(ref p, 3 * L) & mask);
            return Vector256.Max(a, b);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> Combine(Vector256<uint> a, Vector256<uint> b) => Vector256.Max(a, b);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> Finish(Vector256<uint> v) => v;
    }

    /// <summary>
    /// f16/bf16 groups: two vectors of 16 halves, sign bits cleared, kept as 16 word-wide partials through the tree
    /// (word max); only the 8 results are folded into 32-bit lanes, once per 8 groups instead of once per group.
    /// </summary>
    private readonly struct U16Partial : IGroupPartial
    {
        public static int GroupBytes => N * sizeof(ushort);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> Max(ref byte groups, int g)
        {
            ref ushort p = ref Unsafe.As<byte, ushort>(ref Unsafe.Add(ref groups, g * GroupBytes));
            Vector256<ushort> mask = Vector256.Create((ushort)0x7FFF);
            return Vector256.Max(Vector256.LoadUnsafe(ref p) & mask, Vector256.LoadUnsafe(ref p, 16) & mask).AsUInt32();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> Combine(Vector256<uint> a, Vector256<uint> b) => Vector256.Max(a.AsUInt16(), b.AsUInt16()).AsUInt32();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<uint> Finish(Vector256<uint> v) => Vector256.Max(v & Vector256.Create(0xFFFFu), v >> 16);
    }

    /// <summary>Computes the codes of one group of some source format, 8 elements at a time.</summary>
    private interface IGroupCodes
    {
        static abstract int GroupBytes { get; }

        static abstract Vector256<float> Reciprocal(float reciprocal);

        static abstract Vector256<int> Codes(ref byte group, int part, Vector256<float> r);
    }

    /// <summary>f32 values, f32 arithmetic.</summary>
    private readonly struct F32Group : IGroupCodes
    {
        public static int GroupBytes => N * sizeof(float);

        public static Vector256<float> Reciprocal(float reciprocal) => Vector256.Create(reciprocal);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Codes(ref byte group, int part, Vector256<float> r) =>
            CodesF32(Vector256.LoadUnsafe(ref Unsafe.As<byte, float>(ref group), (nuint)(part * L)), r);
    }

    /// <summary>f16 values, f16 arithmetic (shifted f16 bits are x * 2^-112, so r is scaled by 2^112, exactly).</summary>
    private readonly struct HalfGroup : IGroupCodes
    {
        public static int GroupBytes => N * sizeof(ushort);

        public static Vector256<float> Reciprocal(float reciprocal) => Vector256.Create(reciprocal * HalfBits.TwoPow112);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Codes(ref byte group, int part, Vector256<float> r) =>
            CodesF16(ScaledHalf(Vector128.LoadUnsafe(ref Unsafe.As<byte, short>(ref group), (nuint)(part * L))), r);
    }

    /// <summary>bf16 values, widened exactly, f32 arithmetic.</summary>
    private readonly struct BFloat16Group : IGroupCodes
    {
        public static int GroupBytes => N * sizeof(ushort);

        public static Vector256<float> Reciprocal(float reciprocal) => Vector256.Create(reciprocal);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Codes(ref byte group, int part, Vector256<float> r) =>
            CodesF32(BFloat16(Vector128.LoadUnsafe(ref Unsafe.As<byte, ushort>(ref group), (nuint)(part * L))), r);
    }
}
