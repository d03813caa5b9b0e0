using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TorchToNnef.Formats.Checksums;

/// <summary>
/// The CRC-32 of gzip and zlib (reflected polynomial 0xEDB88320, initial value and final XOR 0xFFFFFFFF). Long inputs
/// are folded with carry-less multiply at the widest width the process runs: 512 bits where VPCLMULQDQ and AVX-512 are
/// on (JIT), 256 bits where VPCLMULQDQ and AVX2 are (also the AOT binary on an x86-64-v3 baseline, where VPCLMULQDQ is
/// checked at run time), 128 bits with PCLMULQDQ, and slice-by-8 tables otherwise. System.IO.Hashing's Crc32 (10.0 and
/// 11.0) folds only 128 bits at a time (bench/README.md, "CRC-32 of the archive").
/// </summary>
internal static class GzipCrc32
{
    /// <summary>The path <see cref="Append(uint, ReadOnlySpan{byte})"/> takes for long inputs in this process.</summary>
    internal static GzipCrc32Path Widest { get; } =
        IsSupported(GzipCrc32Path.Vector512) ? GzipCrc32Path.Vector512
        : IsSupported(GzipCrc32Path.Vector256) ? GzipCrc32Path.Vector256
        : IsSupported(GzipCrc32Path.Vector128) ? GzipCrc32Path.Vector128
        : GzipCrc32Path.Scalar;

    /// <summary>
    /// Extends <paramref name="crc"/>, the CRC-32 of some bytes (0 for none), to the CRC-32 of those bytes followed by
    /// <paramref name="data"/>, as zlib's <c>crc32(crc, buf, len)</c> does.
    /// </summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data) => ~Update(Widest, ~crc, data);

    /// <summary>CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>
    /// <see cref="Append(uint, ReadOnlySpan{byte})"/> by <paramref name="path"/> (narrower paths for what is too short for
    /// it); tests and benchmarks compare the paths with it. Throws when this process cannot run the path.
    /// </summary>
    internal static uint Append(GzipCrc32Path path, uint crc, ReadOnlySpan<byte> data)
    {
        if (!IsSupported(path))
        {
            throw new PlatformNotSupportedException($"CRC-32 path {path} does not run in this process");
        }

        return ~Update(path, ~crc, data);
    }

    /// <summary>True when this process can run <paramref name="path"/>.</summary>
    internal static bool IsSupported(GzipCrc32Path path) => path switch
    {
        GzipCrc32Path.Scalar => true,
        GzipCrc32Path.Vector128 => Pclmulqdq.IsSupported,
        GzipCrc32Path.Vector256 => Pclmulqdq.V256.IsSupported && Avx2.IsSupported,
        GzipCrc32Path.Vector512 => Pclmulqdq.V512.IsSupported && Avx512F.IsSupported && Vector512.IsHardwareAccelerated,
        _ => false,
    };

    // Advances the CRC register (before the final XOR: the state the folding and the tables carry) by `path`, which
    // this process runs (and so every narrower one), stepping down to a narrower path for data too short for it.
    private static uint Update(GzipCrc32Path path, uint state, ReadOnlySpan<byte> data) => path switch
    {
        GzipCrc32Path.Vector512 when data.Length >= GzipCrc32Folding.MinimumVector512 => GzipCrc32Folding.UpdateVector512(state, data),
        GzipCrc32Path.Vector512 or GzipCrc32Path.Vector256 when data.Length >= GzipCrc32Folding.MinimumVector256 => GzipCrc32Folding.UpdateVector256(state, data),
        GzipCrc32Path.Scalar => GzipCrc32Scalar.Update(state, data),
        _ when data.Length >= GzipCrc32Folding.MinimumVector128 => GzipCrc32Folding.UpdateVector128(state, data),
        _ => GzipCrc32Scalar.Update(state, data),
    };
}
