using System.Buffers;
using TorchToNnef.IO;

namespace TorchToNnef.Ir;

/// <summary>
/// A fixed set of equal chunks carved from one large array that is backed by huge pages where the OS allows
/// (<see cref="HugePageAdvice"/>), for buffers that a pipeline fills at full speed before it reaches a steady state
/// (the prefetch pipes: every source in flight queues its chunks while the consumer has not started). In 4 KiB pages,
/// first touching the 16 MiB a 1.1B export queues was ~3,500 page faults, ~45 ms of CPU on the benchmark machine
/// (bench/README.md, "Huge pages for the prefetch pipe"). Chunks are handed out most recently returned first, so a
/// steady pipeline reuses the same warm memory. When every chunk is out, <see cref="Rent"/> falls back to
/// <see cref="ArrayPool{T}.Shared"/>; <see cref="Return"/> tells the two apart. Thread-safe.
/// <para>
/// The slab is an ordinary large object, not a pinned one: a pinned-heap allocation made the runtime collect (and end
/// the no-GC region <c>t2n export-llm</c> opens for its start), while the large-object heap is inside that region's
/// budget. Large objects are not moved unless a compaction of that heap is asked for; if one were, the advice would
/// be lost, nothing else (chunks are indexes into the array, and writes pin it).
/// </para>
/// </summary>
internal sealed class ChunkArena
{
    private readonly int _chunks;
    private readonly int _chunkBytes;
    private readonly Stack<int> _free;
    private readonly object _gate = new();
    private byte[]? _slab;
    private int _first;

    /// <summary>An arena of <paramref name="chunks"/> chunks of <paramref name="chunkBytes"/> each, allocated on first use.</summary>
    public ChunkArena(int chunks, int chunkBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkBytes, 1);
        _chunks = chunks;
        _chunkBytes = chunkBytes;
        _free = new Stack<int>(chunks);
        for (int i = chunks - 1; i >= 0; i--)
        {
            _free.Push(i);
        }
    }

    /// <summary>
    /// A chunk of at least <paramref name="minimumBytes"/>: one of the arena's when it is large enough and one is free,
    /// else a pooled array.
    /// </summary>
    public ArraySegment<byte> Rent(int minimumBytes)
    {
        if (minimumBytes <= _chunkBytes)
        {
            lock (_gate)
            {
                if (_free.TryPop(out int i))
                {
                    _slab ??= AllocateSlab(out _first);
                    return new ArraySegment<byte>(_slab, _first + (i * _chunkBytes), _chunkBytes);
                }
            }
        }

        byte[] pooled = ArrayPool<byte>.Shared.Rent(Math.Max(minimumBytes, _chunkBytes));
        return new ArraySegment<byte>(pooled);
    }

    /// <summary>Gives back a chunk <see cref="Rent"/> returned.</summary>
    public void Return(ArraySegment<byte> chunk)
    {
        if (chunk.Array is not null && ReferenceEquals(chunk.Array, _slab))
        {
            lock (_gate)
            {
                _free.Push((chunk.Offset - _first) / _chunkBytes);
            }
        }
        else if (chunk.Array is not null)
        {
            ArrayPool<byte>.Shared.Return(chunk.Array);
        }
    }

    // The chunks start at the first huge-page boundary of the slab and the advised area is whole huge pages, so that
    // the advice covers every chunk.
    private unsafe byte[] AllocateSlab(out int first)
    {
        const int Huge = HugePageAdvice.HugePageBytes;
        long area = (((long)_chunks * _chunkBytes) + Huge - 1) / Huge * Huge;
        byte[] slab = GC.AllocateUninitializedArray<byte>(checked((int)(area + Huge)));
        fixed (byte* p = slab)
        {
            first = (int)((Huge - ((long)p % Huge)) % Huge);
            HugePageAdvice.Advise(p + first, area);
        }

        return slab;
    }
}
