using System.Buffers;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant;

/// <summary>
/// Quantizes a whole tensor chunk by chunk. Chunks are fixed (<see cref="ChunkGroups"/> groups), so outputs and error
/// sums are identical whatever the number of threads; chunks are spread over threads in row stripes. A source that
/// is not already in memory (e.g. a memory-mapped checkpoint) is read with positional reads into small pooled
/// buffers, so the resident set stays bounded by a few windows rather than the tensor size.
/// </summary>
internal sealed class Q40Pipeline
{
    /// <summary>Groups per chunk: 4096 groups of f32 are 512 KiB, which fits in L2 next to their output.</summary>
    internal const int ChunkGroups = 4096;

    private readonly Tensor _source;
    private readonly Q40Calibration _calibration;
    private readonly DType _layout;
    private readonly Q40QuantizeOptions _options;
    private readonly int _bytesPerGroup;
    private readonly bool _inMemory;

    public Q40Pipeline(Tensor source, DType layout, Q40Calibration calibration, Q40QuantizeOptions options)
    {
        _source = source;
        _layout = layout;
        _calibration = calibration;
        _options = options;
        _bytesPerGroup = Q40Format.GroupSize * source.DType.ElementSize();
        _inMemory = source.Data is OwnedTensorData;
        Groups = source.ElementCount / Q40Format.GroupSize;
        Chunks = (Groups + ChunkGroups - 1) / ChunkGroups;
    }

    public long Groups { get; }

    public long Chunks { get; }

    /// <summary>Quantizes everything into <paramref name="destination"/> (all blocks, in memory).</summary>
    public void RunInto(OwnedTensorData destination)
    {
        RunChunks(0, Chunks, null, destination);
        _options.Progress?.Report(_source.ElementCount);
    }

    /// <summary>Quantizes everything and writes the blocks to <paramref name="destination"/> in order, a window at a time.</summary>
    public void RunTo(Stream destination)
    {
        int window = Math.Max(2, 4 * Parallelism);
        byte[] output = ArrayPool<byte>.Shared.Rent(window * ChunkGroups * Q40Format.BlockBytes);
        try
        {
            for (long c0 = 0; c0 < Chunks; c0 += window)
            {
                long count = Math.Min(window, Chunks - c0);
                RunChunks(c0, count, output, null);
                long groupsDone = Math.Min(Groups, (c0 + count) * ChunkGroups);
                long bytes = (groupsDone - (c0 * ChunkGroups)) * Q40Format.BlockBytes;
                destination.Write(output, 0, (int)bytes);
                _options.Progress?.Report(groupsDone * Q40Format.GroupSize);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    private int Parallelism => Math.Max(1, _options.MaxDegreeOfParallelism);

    // Chunk c goes to output[(c - first) * chunkBytes] when output is given, else to its absolute place in destination.
    private void RunChunks(long first, long count, byte[]? output, OwnedTensorData? destination)
    {
        Q40ErrorStats[]? stats = _options.Errors is null ? null : new Q40ErrorStats[count];
        void One(long i)
        {
            long c = first + i;
            long g0 = c * ChunkGroups;
            int n = (int)Math.Min(ChunkGroups, Groups - g0);
            Span<byte> blocks = output is not null
                ? output.AsSpan((int)(i * ChunkGroups * Q40Format.BlockBytes), n * Q40Format.BlockBytes)
                : destination!.Span.Slice((int)(g0 * Q40Format.BlockBytes), n * Q40Format.BlockBytes);
            QuantizeChunk(g0, n, blocks, stats is null ? null : stats[i] = new Q40ErrorStats());
        }

        if (Parallelism == 1 || count == 1)
        {
            for (long i = 0; i < count; i++)
            {
                One(i);
            }
        }
        else
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, One);
        }

        if (stats is not null)
        {
            foreach (Q40ErrorStats s in stats)
            {
                _options.Errors!.Merge(s);
            }
        }
    }

    private void QuantizeChunk(long firstGroup, int groups, Span<byte> blocks, Q40ErrorStats? stats)
    {
        int bytes = groups * _bytesPerGroup;
        long offset = firstGroup * _bytesPerGroup;
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> source;
            if (_inMemory && _source.Data.TryGetSpan(out ReadOnlySpan<byte> all))
            {
                source = all.Slice((int)offset, bytes);
            }
            else
            {
                rented = ArrayPool<byte>.Shared.Rent(bytes);
                _source.Data.Read(offset, rented.AsSpan(0, bytes));
                source = rented.AsSpan(0, bytes);
            }

            _calibration.QuantizeGroups(_source.DType, source, blocks, _layout);
            if (stats is not null)
            {
                Q40ErrorMeter.Measure(_source.DType, source, blocks, _layout, stats);
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
