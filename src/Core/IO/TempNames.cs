using System.Diagnostics;
using System.Globalization;

namespace TorchToNnef.IO;

/// <summary>
/// Names of the temporary files and folders t2n creates next to its outputs. They are hidden and recognisable:
/// <c>.t2n-tmp-&lt;pid&gt;-&lt;16 hex&gt;</c> while an output is being written, <c>.t2n-old-&lt;pid&gt;-&lt;16 hex&gt;</c> for
/// an output set aside for the instant it is replaced by a folder. The process id lets a later run tell the leftovers
/// of a killed run (process gone) from the work of a run still going; the file name of the output is not part of the
/// name, so a temporary name is short whatever the output is called.
/// </summary>
internal static class TempNames
{
    /// <summary>Every name starts with this.</summary>
    public const string Prefix = ".t2n-";

    private const string TempTag = "tmp";
    private const string AsideTag = "old";

    /// <summary>A fresh name for an output being written by this process.</summary>
    public static string NewTemporary() => Make(TempTag);

    /// <summary>A fresh name for an output set aside while it is replaced.</summary>
    public static string NewAside() => Make(AsideTag);

    /// <summary>Parses a name made here; false for any other name.</summary>
    /// <param name="fileName">A file name (no folder).</param>
    /// <param name="aside">True for a set-aside output, false for a temporary one.</param>
    /// <param name="processId">The process that created it.</param>
    public static bool TryParse(string fileName, out bool aside, out int processId)
    {
        aside = false;
        processId = 0;
        ReadOnlySpan<char> s = fileName;
        if (!s.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        s = s[Prefix.Length..];
        if (s.StartsWith(TempTag + "-", StringComparison.Ordinal))
        {
            s = s[(TempTag.Length + 1)..];
        }
        else if (s.StartsWith(AsideTag + "-", StringComparison.Ordinal))
        {
            aside = true;
            s = s[(AsideTag.Length + 1)..];
        }
        else
        {
            return false;
        }

        int dash = s.IndexOf('-');
        if (dash <= 0 || s.Length - dash - 1 != 16 || !int.TryParse(s[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out processId) || processId <= 0)
        {
            return false;
        }

        foreach (char c in s[(dash + 1)..])
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// True when a process with this id is running. When that cannot be told (no permission), the answer is true, so
    /// that nothing a live process may still be using is ever removed.
    /// </summary>
    public static bool IsProcessAlive(int processId)
    {
        if (OperatingSystem.IsLinux())
        {
            return Directory.Exists($"/proc/{processId.ToString(CultureInfo.InvariantCulture)}");
        }

        try
        {
            using var p = Process.GetProcessById(processId);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException or PlatformNotSupportedException)
        {
            return true;
        }
    }

    private static string Make(string tag) =>
        $"{Prefix}{tag}-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{RandomHex()}";

    // 16 lowercase hex digits from the operating system's secure random source. Guid.NewGuid draws on it directly
    // (getrandom, /dev/urandom; BCryptGenRandom on Windows), whereas RandomNumberGenerator loads OpenSSL on Linux:
    // libssl, libcrypto and openssl.cnf, 7-10 ms of a t2n run spent before its first weight. The bytes taken skip the
    // version and variant bits, so all 64 bits are random. Names stay unpredictable, which matters for the staged folder
    // (Directory.CreateDirectory accepts one that exists; files are created with CreateNew, which refuses one).
    private static string RandomHex()
    {
        Guid g = Guid.NewGuid();
        Span<byte> bytes = stackalloc byte[16];
        g.TryWriteBytes(bytes);
        Span<byte> random = stackalloc byte[8];
        bytes[..6].CopyTo(random);
        bytes[10..12].CopyTo(random[6..]);
        return Convert.ToHexStringLower(random);
    }
}
