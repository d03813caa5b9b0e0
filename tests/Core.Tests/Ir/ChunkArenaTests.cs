using System.Runtime;
using TorchToNnef.IO;
using TorchToNnef.Ir;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Core.Tests.Ir;

/// <summary>The prefetch pipes' chunk arena: disjoint chunks, warm ones first, the pool beyond it, huge-page advice.</summary>
public class ChunkArenaTests
{
    private const int Chunk = 1 << 20;

    [Fact]
    public void ChunksAreDisjointAndThePoolServesWhenAllAreOut()
    {
        var arena = new ChunkArena(3, Chunk);
        ArraySegment<byte>[] chunks = [arena.Rent(Chunk), arena.Rent(1), arena.Rent(Chunk / 2)];
        Assert.All(chunks, c => Assert.Equal(Chunk, c.Count));
        Assert.Single(chunks.Select(c => c.Array).Distinct());
        int[] starts = [.. chunks.Select(c => c.Offset).Order()];
        Assert.True(starts[1] - starts[0] >= Chunk && starts[2] - starts[1] >= Chunk, string.Join(", ", starts));
        Assert.True(starts[2] + Chunk <= chunks[0].Array!.Length);

        // A fourth is a pooled array of its own, returned to the pool, not into the arena.
        ArraySegment<byte> extra = arena.Rent(Chunk);
        Assert.NotSame(chunks[0].Array, extra.Array);
        Assert.True(extra.Count >= Chunk);
        arena.Return(extra);
        foreach (ArraySegment<byte> c in chunks)
        {
            arena.Return(c);
        }

        ArraySegment<byte>[] again = [arena.Rent(Chunk), arena.Rent(Chunk), arena.Rent(Chunk)];
        Assert.All(again, c => Assert.Same(chunks[0].Array, c.Array));
        Assert.Equal(starts, again.Select(c => c.Offset).Order());
    }

    [Fact]
    public void TheMostRecentlyReturnedChunkComesBackFirst()
    {
        var arena = new ChunkArena(4, Chunk);
        ArraySegment<byte> a = arena.Rent(Chunk);
        ArraySegment<byte> b = arena.Rent(Chunk);
        arena.Return(a);
        arena.Return(b);
        Assert.Equal(b.Offset, arena.Rent(Chunk).Offset);
        Assert.Equal(a.Offset, arena.Rent(Chunk).Offset);
    }

    [Fact]
    public void RequestsLargerThanAChunkComeFromThePool()
    {
        var arena = new ChunkArena(1, Chunk);
        ArraySegment<byte> big = arena.Rent(Chunk + 1);
        Assert.True(big.Count >= Chunk + 1);
        arena.Return(big);

        // The arena's one chunk is still there.
        ArraySegment<byte> own = arena.Rent(Chunk);
        Assert.NotSame(big.Array, own.Array);
        Assert.True(own.Array!.Length > Chunk + HugePageAdvice.HugePageBytes - 1, "the slab has room for the alignment");
    }

    [Fact]
    public unsafe void ChunksStartOnAHugePageBoundaryOfAnAdvisedMapping()
    {
        Assert.True(OperatingSystem.IsLinux(), "this test reads /proc/self/smaps");
        var arena = new ChunkArena(5, Chunk);
        ArraySegment<byte> first = arena.Rent(Chunk);
        ArraySegment<byte> other = arena.Rent(Chunk);
        fixed (byte* slab = first.Array)
        {
            byte* lowest = slab + Math.Min(first.Offset, other.Offset);
            Assert.Equal(0, (long)lowest % HugePageAdvice.HugePageBytes);
            Assert.Contains("hg", MemoryMappings.FlagsAt((nint)(slab + first.Offset))!);
            Assert.Contains("hg", MemoryMappings.FlagsAt((nint)(slab + first.Offset + Chunk - 1))!);
        }
    }
}

/// <summary>
/// An arena made while a no-GC region is open leaves the region open: its slab is an ordinary large object, inside the
/// region's budget (a pinned-heap slab made the runtime collect and end the region, which <c>t2n export-llm</c> opens
/// for its start: bench/README.md, "Huge pages for the prefetch pipe"). Not run beside other tests, whose allocations
/// could end the region.
/// </summary>
[Collection(nameof(ChunkArenaNoGcRegionTests))]
[CollectionDefinition(nameof(ChunkArenaNoGcRegionTests), DisableParallelization = true)]
public class ChunkArenaNoGcRegionTests
{
    [Fact]
    public void MakingAnArenaKeepsANoGcRegionOpen()
    {
        Assert.True(GC.TryStartNoGCRegion(48L << 20, disallowFullBlockingGC: true));
        try
        {
            int collections = GC.CollectionCount(0);
            var arena = new ChunkArena(21, 1 << 20);
            ArraySegment<byte> chunk = arena.Rent(1 << 20);
            Assert.Equal(GCLatencyMode.NoGCRegion, GCSettings.LatencyMode);
            Assert.Equal(collections, GC.CollectionCount(0));
            arena.Return(chunk);
        }
        finally
        {
            if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                GC.EndNoGCRegion();
            }
        }
    }
}
