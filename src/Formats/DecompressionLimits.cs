namespace TorchToNnef.Formats;

/// <summary>
/// How far compressed input (a gzip stream, a deflated npz entry) may expand. Genuine model archives expand by less
/// than two (weights barely compress, and torch_to_nnef stores them uncompressed); only data that is nearly all zeros
/// goes past a hundred, and a few megabytes that expand to gigabytes are a decompression bomb. Checking as bytes
/// arrive (or against a declared size before anything is allocated) stops one long before it costs the memory, time
/// or disk of its full expansion.
/// </summary>
internal static class DecompressionLimits
{
    /// <summary>Largest accepted ratio of decompressed to compressed bytes.</summary>
    public const long MaxRatio = 100;

    /// <summary>Decompressed bytes always accepted, whatever the ratio (small archives of constants compress very well).</summary>
    public const long FreeAllowance = 64L << 20;

    /// <summary>True when <paramref name="expanded"/> bytes from <paramref name="compressed"/> bytes are within the limits.</summary>
    public static bool Allows(long expanded, long compressed) => expanded <= FreeAllowance || expanded <= MaxRatio * compressed;

    /// <summary>The reason given when a stream goes past the limits.</summary>
    public static string Describe(long expanded, long compressed, string what) =>
        $"{what} expands to more than {MaxRatio} times its {compressed} compressed bytes ({expanded} bytes): "
        + "refused as a likely decompression bomb";
}
