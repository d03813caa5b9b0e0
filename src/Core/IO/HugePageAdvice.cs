using System.Runtime.InteropServices;

namespace TorchToNnef.IO;

/// <summary>
/// Asks Linux to back a range of anonymous memory with transparent huge pages (<c>madvise(MADV_HUGEPAGE)</c>), so that
/// first touching it costs one page fault per 2 MiB instead of one per 4 KiB. Where page faults are expensive (a
/// paravirtualized guest such as this project's benchmark machine: ~12 µs each, <c>bench/README.md</c>, "Huge pages
/// for the prefetch pipe"), the 16 MiB of chunk buffers a 1.1B export fills while it starts cost ~45 ms of CPU in
/// 4 KiB faults. A hint only: elsewhere, when the kernel refuses, or with huge pages turned off it does nothing.
/// </summary>
internal static unsafe partial class HugePageAdvice
{
    /// <summary>Size of a transparent huge page on x86-64 and most arm64 kernels.</summary>
    internal const int HugePageBytes = 2 << 20;

    private const int MadvHugePage = 14;

    private static bool s_available = OperatingSystem.IsLinux();

    /// <summary>
    /// Advises the whole huge pages inside [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>).
    /// Returns the bytes advised (0 when none could be).
    /// </summary>
    public static long Advise(byte* start, long length)
    {
        long first = ((long)start + HugePageBytes - 1) & ~(long)(HugePageBytes - 1);
        long end = ((long)start + length) & ~(long)(HugePageBytes - 1);
        if (!s_available || end <= first)
        {
            return 0;
        }

        try
        {
            return Madvise((void*)first, (nuint)(end - first), MadvHugePage) == 0 ? end - first : 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_available = false;
            return 0;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
