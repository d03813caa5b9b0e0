using System.Diagnostics;
using System.Globalization;

namespace TorchToNnef.Benchmarks;

/// <summary>This process's memory and CPU time as Linux reports them, for the runs that print their own figures.</summary>
internal static class ProcessStats
{
    /// <summary>Resets the resident-set high-water mark (VmHWM): "5" in <c>/proc/self/clear_refs</c>; ignored where refused.</summary>
    public static void ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Peak resident set (VmHWM) in MB since start or the last <see cref="ResetPeak"/>; NaN without <c>/proc</c>.</summary>
    public static double PeakMb() => StatusMb("VmHWM");

    /// <summary>Resident set now (VmRSS) in MB; NaN without <c>/proc</c>.</summary>
    public static double CurrentMb() => StatusMb("VmRSS");

    /// <summary>CPU time of the process: on a shared machine, wall time mostly measures the neighbours.</summary>
    public static TimeSpan CpuTime()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    /// <summary>A field of <c>/proc/self/status</c> given in kB (VmRSS, RssAnon, ...), in MB; NaN without <c>/proc</c>.</summary>
    public static double StatusMb(string field)
    {
        if (!File.Exists("/proc/self/status"))
        {
            return double.NaN;
        }

        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
            }
        }

        return double.NaN;
    }
}
