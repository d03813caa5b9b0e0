using System.Runtime.InteropServices;
using TorchToNnef.IO;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Core.Tests.IO;

/// <summary>The huge-page hint covers exactly the whole huge pages inside a range, and Linux records it.</summary>
public unsafe class HugePageAdviceTests
{
    private const int Huge = HugePageAdvice.HugePageBytes;

    [Fact]
    public void OnlyWholeHugePagesInsideTheRangeAreAdvised()
    {
        Assert.True(OperatingSystem.IsLinux(), "these tests read /proc/self/smaps");
        byte* p = (byte*)NativeMemory.AlignedAlloc(4 * (nuint)Huge, (nuint)Huge);
        try
        {
            // Less than one huge page, and a range that straddles boundaries without holding a whole page: nothing.
            Assert.Equal(0, HugePageAdvice.Advise(p + 4096, Huge / 2));
            Assert.Equal(0, HugePageAdvice.Advise(p + Huge - 4096, Huge));

            // From one byte past p to 1 byte past p + 3 pages: only [p + 1 page, p + 3 pages) is whole.
            Assert.Equal(2L * Huge, HugePageAdvice.Advise(p + 1, 3L * Huge));
            Assert.Contains("hg", MemoryMappings.FlagsAt((nint)(p + Huge))!);
            Assert.Contains("hg", MemoryMappings.FlagsAt((nint)(p + (3L * Huge) - 1))!);
            Assert.DoesNotContain("hg", MemoryMappings.FlagsAt((nint)p)!);
            Assert.DoesNotContain("hg", MemoryMappings.FlagsAt((nint)(p + (3L * Huge)))!);
        }
        finally
        {
            NativeMemory.AlignedFree(p);
        }
    }
}
