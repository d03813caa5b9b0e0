using System.Globalization;

namespace TorchToNnef.TestSupport;

/// <summary>What Linux reports about this process's mappings (<c>/proc/self/smaps</c>).</summary>
public static class MemoryMappings
{
    /// <summary>
    /// The <c>VmFlags</c> of the mapping that holds <paramref name="address"/> (two-letter codes: <c>hg</c> is
    /// <c>MADV_HUGEPAGE</c> advice, <c>nh</c> <c>MADV_NOHUGEPAGE</c>), or null when no mapping holds it.
    /// </summary>
    public static IReadOnlySet<string>? FlagsAt(nint address)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            if (TryRange(line, out ulong start, out ulong end))
            {
                inside = (ulong)address >= start && (ulong)address < end;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
            }
        }

        return null;
    }

    // A mapping's first line: "start-end perms offset dev inode [path]", addresses in hex.
    private static bool TryRange(string line, out ulong start, out ulong end)
    {
        start = end = 0;
        int dash = line.IndexOf('-', StringComparison.Ordinal);
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        return dash > 0 && space > dash
            && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out start)
            && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out end);
    }
}
