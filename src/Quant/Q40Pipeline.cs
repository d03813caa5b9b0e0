using System.Buffers;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant;

/// <summary>
/// Quantizes a whole tensor chunk by chunk. Chunks are fixed (<see cref="ChunkGroups"/> groups), so outputs and error
/// sums are identical whatever the number of threads; the chunks of a window are spread over threads. A source that
/// is not in memory is streamed a window at a time: through its own short-lived memory mapping when the payload
/// offers one (<see cref="TensorData.OpenWindow"/>: no copy, pages leave the resident set when the window closes),
/// else by positional reads into small pooled buffers. Memory stays bounded by a window, whatever the tensor size.
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
            RunWindow(c0, count, null, destination);
            _options.Progress?.Report(GroupsThrough(c0 + count) * Q40Format.GroupSize);
        }
    }

    /// <summary>Quantizes everything and writes the blocks to <paramref name="destination"/> in order, a window at a time.</summary>
    public void RunTo(Stream destination)
    {
        byte[] output = ArrayPool<byte>.Shared.Rent(WindowChunks * ChunkBlockBytes);
        try
        {
            for (long c0 = 0; c0 < Chunks; c0 += WindowChunks)
            {
                int count = (int)Math.Min(WindowChunks, Chunks - c0);
                RunWindow(c0, count, output, Memory<byte>.Empty);
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

    private long GroupsThrough(long chunkEnd) => Math.Min(Groups, chunkEnd * ChunkGroups);

    // Chunks [first, first + count): chunk i goes to output[i * chunkBytes] when output is given, else to its own place
    // in destination.
    private void RunWindow(long first, int count, byte[]? output, Memory<byte> destination)
    {
        long sourceOffset = first * ChunkGroups * _bytesPerGroup;
        int sourceBytes = (int)((GroupsThrough(first + count) - (first * ChunkGroups)) * _bytesPerGroup);
        using TensorWindow? window = _inMemory ? null : _source.Data.OpenWindow(sourceOffset, sourceBytes);
        Q40ErrorStats[]? stats = _options.Errors is null ? null : new Q40ErrorStats[count];
        void One(int i)
        {
            long g0 = (first + i) * ChunkGroups;
            int n = (int)Math.Min(ChunkGroups, Groups - g0);
            Span<byte> blocks = output is not null
                ? output.AsSpan(i * ChunkBlockBytes, n * Q40Format.BlockBytes)
                : destination.Span.Slice((int)(g0 * Q40Format.BlockBytes), n * Q40Format.BlockBytes);
            int offsetInWindow = i * ChunkGroups * _bytesPerGroup;
            QuantizeChunk(g0, n, window, offsetInWindow, blocks, stats is null ? null : stats[i] = new Q40ErrorStats());
        }

        if (Parallelism == 1 || count == 1)
        {
            for (int i = 0; i < count; i++)
            {
                One(i);
            }
        }
        else
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, One);
        }

        if (!_options.AllowNonFinite)
        {
            CheckScales(first, count, output, destination);
        }

        if (stats is not null)
        {
            foreach (Q40ErrorStats s in stats)
            {
                _options.Errors!.Merge(s);
            }
        }
    }

    // A block whose f16 scale is NaN or infinite dequantizes to NaN/inf: an error unless the options allow it. Checked
    // after the parallel loop, so the exception is ours and not an AggregateException.
    private void CheckScales(long first, int count, byte[]? output, Memory<byte> destination)
    {
        long g0 = first * ChunkGroups;
        int groups = (int)(GroupsThrough(first + count) - g0);
        ReadOnlySpan<byte> blocks = output is not null
            ? output.AsSpan(0, groups * Q40Format.BlockBytes) // chunks of a window are contiguous in output
            : destination.Span.Slice((int)(g0 * Q40Format.BlockBytes), groups * Q40Format.BlockBytes);
        for (int g = 0; g < groups; g++)
        {
            Half scale = BitConverter.UInt16BitsToHalf(System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(blocks.Slice(g * Q40Format.BlockBytes, 2)));
            if (!Half.IsFinite(scale))
            {
                long group = g0 + g;
                string what = Half.IsNaN(scale) ? "holds NaN" : "has values too large for an f16 scale (|x| / 8 > 65504)";
                throw new TorchToNnef.Errors.ImpossibleQuantizationException(_tensorName, $"group {group} (elements {group * Q40Format.GroupSize} to {((group + 1) * Q40Format.GroupSize) - 1}) {what}: its Q4_0 scale would be {scale} (set Q40QuantizeOptions.AllowNonFinite, t2n --allow-non-finite, to keep it)");
            }
        }
    }

    private void QuantizeChunk(long firstGroup, int groups, TensorWindow? window, int offsetInWindow, Span<byte> blocks, Q40ErrorStats? stats)
    {
        int bytes = groups * _bytesPerGroup;
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> source;
            if (window is not null)
            {
                source = window.Span.Slice(offsetInWindow, bytes);
            }
            else if (_inMemory && _source.Data.TryGetSpan(out ReadOnlySpan<byte> all))
            {
                source = all.Slice((int)(firstGroup * _bytesPerGroup), bytes);
            }
            else
            {
                rented = ArrayPool<byte>.Shared.Rent(bytes);
                _source.Data.Read(firstGroup * _bytesPerGroup, rented.AsSpan(0, bytes));
                source = rented.AsSpan(0, bytes);
            }

            _calibration.QuantizeGroups(_source.DType, source, blocks);
            if (stats is not null)
            {
                Q40ErrorMeter.Measure(_source.DType, source, blocks, stats);
            }
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

