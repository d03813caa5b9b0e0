namespace TorchToNnef.Formats.Checksums;

/// <summary>The ways <see cref="GzipCrc32"/> can compute a CRC-32, narrowest first.</summary>
internal enum GzipCrc32Path
{
    /// <summary>Slice-by-8 tables; runs everywhere.</summary>
    Scalar,

    /// <summary>Folding with 128-bit carry-less multiply (PCLMULQDQ).</summary>
    Vector128,

    /// <summary>Folding with 256-bit carry-less multiply (VPCLMULQDQ on ymm registers).</summary>
    Vector256,

    /// <summary>Folding with 512-bit carry-less multiply (VPCLMULQDQ on zmm registers).</summary>
    Vector512,
}
