using System.Buffers;
using System.Buffers.Binary;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant;

/// <summary>
/// Quantizes a whole tensor chunk by chunk. Chunks are fixed (<see cref="ChunkGroups"/> groups), so outputs and error
/// sums are identical whatever the number of threads; the chunks of a window are spread over threads. A source that
/// is not in memory is read chunk by chunk with positional reads (<see cref="TensorData.Read"/>) into a pooled buffer
/// of the thread that quantizes it: the chunk (256 KiB of f16) lands in that core's L2 and is quantized from there, so
/// the source crosses the memory bus once and no page of a memory-mapped file is faulted in (with a mapped window per
/// step, touched 4 KiB at a time and then unmapped, a whole 1.1B f16 export took about twice the CPU time:
/// <c>bench/README.md</c>, LLM export).
/// Memory stays bounded by a window, whatever the tensor size.
/// </summary>
internal sealed class Q40Pipeline
{
    /// <summary>Groups per chunk: 4096 groups of f32 are 512 KiB, which fits in L2 next to their output.</summary>
    internal const int ChunkGroups = 4096;

    /// <summary>
    /// Chunks per window: 32 chunks of f32 are 16 MiB of source and 2.3 MiB of blocks — large enough that starting
    /// the threads of a window costs little, small enough to keep the resident set low.
    /// </summary>
    internal const int WindowChunks = 32;

    private const int ChunkBlockBytes = ChunkGroups * Q40Format.BlockBytes;

    private readonly Tensor _source;
    private readonly Q40Calibration _calibration;
    private readonly Q40QuantizeOptions _options;
    private readonly int _bytesPerGroup;
    private readonly bool _inMemory;
    private readonly string? _tensorName;

    public Q40Pipeline(Tensor source, Q40Calibration calibration, Q40QuantizeOptions options, string? tensorName = null)
    {
        _tensorName = tensorName;
        _source = source;
        _calibration = calibration;
        _options = options;
        _bytesPerGroup = Q40Format.GroupSize * source.DType.ElementSize();
        _inMemory = source.Data.IsInMemory;
        Groups = source.ElementCount / Q40Format.GroupSize;
        Chunks = (Groups + ChunkGroups - 1) / ChunkGroups;
    }

    public long Groups { get; }

    public long Chunks { get; }

    private int Parallelism => Math.Max(1, _options.MaxDegreeOfParallelism);

    /// <summary>Quantizes everything into <paramref name="destination"/> (all blocks, in memory).</summary>
    public void RunInto(Memory<byte> destination)
    {
        for (long c0 = 0; c0 < Chunks; c0 += WindowChunks)
        {
            int count = (int)Math.Min(WindowChunks, Chunks - c0);
            RunWindow(c0, count, destination, 0);
            _options.Progress?.Report(GroupsThrough(c0 + count) * Q40Format.GroupSize);
        }
    }

    /// <summary>
    /// Quantizes everything and writes the blocks to <paramref name="destination"/> in order, a window at a time. A
    /// destination that is also an <see cref="IBufferWriter{T}"/> of bytes (the archive writer's prefetch pipe) gets the
    /// blocks quantized straight into its buffers, windows sized to the buffer it offers; any other stream gets them
    /// copied from a pooled window.
    /// </summary>
    public void RunTo(Stream destination)
    {
        if (destination is IBufferWriter<byte> buffers)
        {
            RunTo(buffers);
            return;
        }

        byte[] output = ArrayPool<byte>.Shared.Rent(WindowChunks * ChunkBlockBytes);
        try
        {
            for (long c0 = 0; c0 < Chunks; c0 += WindowChunks)
            {
                int count = (int)Math.Min(WindowChunks, Chunks - c0);
                RunWindow(c0, count, output, c0 * ChunkGroups);
                long groups = GroupsThrough(c0 + count) - (c0 * ChunkGroups);
                destination.Write(output, 0, (int)(groups * Q40Format.BlockBytes));
                _options.Progress?.Report(GroupsThrough(c0 + count) * Q40Format.GroupSize);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    // Each window is as many whole chunks as the buffer the writer offers holds (at least one, at most WindowChunks).
    private void RunTo(IBufferWriter<byte> destination)
    {
        for (long c0 = 0; c0 < Chunks;)
        {
            Memory<byte> buffer = destination.GetMemory(ChunkBlockBytes);
            int count = (int)Math.Min(Math.Clamp(buffer.Length / ChunkBlockBytes, 1, WindowChunks), Chunks - c0);
            long groups = GroupsThrough(c0 + count) - (c0 * ChunkGroups);
            RunWindow(c0, count, buffer, c0 * ChunkGroups);
            destination.Advance((int)(groups * Q40Format.BlockBytes));
            c0 += count;
            _options.Progress?.Report(GroupsThrough(c0) * Q40Format.GroupSize);
        }
    }

    private long GroupsThrough(long chunkEnd) => Math.Min(Groups, chunkEnd * ChunkGroups);

    // Chunks [first, first + count) into output, whose first byte is the block of group firstGroup (0 when output is
    // the whole tensor, first * ChunkGroups when it holds only this window). Each chunk's scales are checked right after
    // it is encoded (while its blocks are in cache); the error, if any, is thrown after the parallel loop for the first
    // bad group, so it is the same whatever the thread count. A calibration that knows every scale it wrote is finite
    // (min-max on f16: its scale pass sees the maxima) says so, and the chunk's scales are not read again.
    private void RunWindow(long first, int count, Memory<byte> output, long firstGroup)
    {
        Q40ErrorStats[]? stats = _options.Errors is null ? null : new Q40ErrorStats[count];
        long[]? nonFinite = _options.AllowNonFinite ? null : new long[count];
        void One(int i)
        {
            long g0 = (first + i) * ChunkGroups;
            int n = (int)Math.Min(ChunkGroups, Groups - g0);
            Span<byte> blocks = output.Span.Slice(checked((int)((g0 - firstGroup) * Q40Format.BlockBytes)), n * Q40Format.BlockBytes);
            bool mayHoldNonFinite = QuantizeChunk(g0, n, blocks, stats is null ? null : stats[i] = new Q40ErrorStats());
            if (nonFinite is not null)
            {
                int bad = mayHoldNonFinite ? FirstNonFiniteScale(blocks) : -1;
                nonFinite[i] = bad < 0 ? -1 : g0 + bad;
            }
        }

        ChunkTeam.Run(count, Parallelism, One);

        if (nonFinite is not null)
        {
            foreach (long group in nonFinite)
            {
                if (group >= 0)
                {
                    ThrowNonFinite(group, output.Span.Slice(checked((int)((group - firstGroup) * Q40Format.BlockBytes)), 2));
                }
            }
        }

        if (stats is not null)
        {
            foreach (Q40ErrorStats s in stats)
            {
                _options.Errors!.Merge(s);
            }
        }
    }

    // Index of the first block whose f16 scale is NaN or infinite (it would dequantize to NaN/inf), or -1. The common
    // case (none) is one pass over the scales' high bytes, which hold the f16 exponent (bits 2-6), ORing a flag with no
    // branch; the search runs only when the flag is set.
    private static int FirstNonFiniteScale(ReadOnlySpan<byte> blocks)
    {
        int special = 0;
        for (int i = 1; i < blocks.Length; i += Q40Format.BlockBytes)
        {
            special |= (blocks[i] & 0x7C) + 0x04;
        }

        if ((special & 0x80) == 0)
        {
            return -1;
        }

        for (int g = 0; g < blocks.Length / Q40Format.BlockBytes; g++)
        {
            if ((blocks[(g * Q40Format.BlockBytes) + 1] & 0x7C) == 0x7C)
            {
                return g;
            }
        }

        return -1;
    }

    private void ThrowNonFinite(long group, ReadOnlySpan<byte> scaleBytes)
    {
        Half scale = BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(scaleBytes));
        string what = Half.IsNaN(scale) ? "holds NaN" : "has values too large for an f16 scale (|x| / 8 > 65504)";
        throw new TorchToNnef.Errors.ImpossibleQuantizationException(_tensorName, $"group {group} (elements {group * Q40Format.GroupSize} to {((group + 1) * Q40Format.GroupSize) - 1}) {what}: its Q4_0 scale would be {scale} (set Q40QuantizeOptions.AllowNonFinite, t2n --allow-non-finite, to keep it)");
    }

    // A chunk from memory when the source is in memory, else read into a pooled buffer of this thread. Returns false
    // when every scale written is known to be finite.
    private bool QuantizeChunk(long firstGroup, int groups, Span<byte> blocks, Q40ErrorStats? stats)
    {
        int bytes = groups * _bytesPerGroup;
        long at = firstGroup * _bytesPerGroup;
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> source;
            if (_inMemory && _source.Data.TryGetSpan(out ReadOnlySpan<byte> all))
            {
                source = all.Slice((int)at, bytes);
            }
            else
            {
                rented = ArrayPool<byte>.Shared.Rent(bytes);
                _source.Data.Read(at, rented.AsSpan(0, bytes));
                source = rented.AsSpan(0, bytes);
            }

            bool mayHoldNonFinite = _calibration.QuantizeGroupsReportingScales(_source.DType, source, blocks);
            if (stats is not null)
            {
                Q40ErrorMeter.Measure(_source.DType, source, blocks, stats);
            }

            return mayHoldNonFinite;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
