using System.Globalization;

namespace TorchToNnef.Cli.Commands;

/// <summary>Byte counts as the commands print them (B, KiB, MiB, GiB; invariant culture).</summary>
internal static class ByteCount
{
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.##} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.##} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.##} KiB"),
        _ => $"{bytes} B",
    };
}
