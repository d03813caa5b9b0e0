using System.Buffers;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Core.Tests.Ir;

/// <summary>Sources produced ahead on worker threads: same bytes in the same order, errors and cancellation passed on.</summary>
public class SourcePrefetcherTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 8)]
    public void TheConsumerGetsEverySourcesBytesInOrder(int workers, int depth)
    {
        // Sizes around the chunk size, so pipes fill, wait and end on partial chunks.
        int[] sizes = [0, 1, SourcePrefetcher.ChunkBytes - 1, SourcePrefetcher.ChunkBytes, (3 * SourcePrefetcher.ChunkBytes) + 7, 5, 10 * SourcePrefetcher.ChunkBytes];
        TensorSource[] sources = [.. sizes.Select((n, i) => (TensorSource)new PatternSource(n, seed: i))];
        using var prefetcher = new SourcePrefetcher(sources, workers, depth, chunksPerItem: 2);
        for (int i = 0; i < sources.Length; i++)
        {
            using var got = new MemoryStream();
            prefetcher[i].WriteTo(got);
            using var expected = new MemoryStream();
            sources[i].WriteTo(expected);
            Assert.True(expected.ToArray().AsSpan().SequenceEqual(got.ToArray()), $"source {i}");
            Assert.Equal(sources[i].Shape, prefetcher[i].Shape);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ProducersWritingIntoLentBuffersGiveTheSameBytes(int workers)
    {
        // The pipe's writer lends its chunks (IBufferWriter): pieces smaller and larger than a chunk, mixed with plain
        // writes, partly used buffers and empty advances, must reach the consumer exactly as the plain stream writes do.
        int[] sizes = [0, 7, SourcePrefetcher.ChunkBytes - 3, (2 * SourcePrefetcher.ChunkBytes) + 11, 5 * SourcePrefetcher.ChunkBytes];
        TensorSource[] sources = [.. sizes.Select((n, i) => (TensorSource)new LendingSource(n, seed: i))];
        using var prefetcher = new SourcePrefetcher(sources, workers, depth: 2, chunksPerItem: 2);
        for (int i = 0; i < sources.Length; i++)
        {
            using var got = new MemoryStream();
            prefetcher[i].WriteTo(got);
            using var expected = new MemoryStream();
            sources[i].WriteTo(expected);
            Assert.Equal(sizes[i], got.Length);
            Assert.True(expected.ToArray().AsSpan().SequenceEqual(got.ToArray()), $"source {i}");
        }
    }

    [Fact]
    public void SourcesMustBeConsumedInOrder()
    {
        TensorSource[] sources = [new PatternSource(10, 0), new PatternSource(10, 1)];
        using var prefetcher = new SourcePrefetcher(sources, 2, 2);
        Assert.Throws<InvalidOperationException>(() => prefetcher[1].WriteTo(Stream.Null));
    }

    [Fact]
    public void AWorkersErrorIsThrownWhenItsSourceIsReached()
    {
        TensorSource[] sources = [new PatternSource(100, 0), new FailingSource(), new PatternSource(100, 2)];
        using var prefetcher = new SourcePrefetcher(sources, 2, 3);
        prefetcher[0].WriteTo(Stream.Null);
        var e = Assert.Throws<InvalidDataException>(() => prefetcher[1].WriteTo(Stream.Null));
        Assert.Equal("broken source", e.Message);
    }

    [Fact]
    public void CancellationStopsTheConsumerAndTheWorkers()
    {
        using var cts = new CancellationTokenSource();
        TensorSource[] sources = [.. Enumerable.Range(0, 4).Select(i => (TensorSource)new PatternSource(20 * SourcePrefetcher.ChunkBytes, i))];
        var prefetcher = new SourcePrefetcher(sources, 2, 2, chunksPerItem: 1, cancellation: cts.Token);
        prefetcher[0].WriteTo(Stream.Null);
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => prefetcher[1].WriteTo(Stream.Null));
        prefetcher.Dispose(); // returns once the workers, blocked on full pipes, have stopped
    }

    /// <summary>n bytes of a seeded pattern, written in odd-sized pieces.</summary>
    private sealed class PatternSource(int n, int seed) : TensorSource
    {
        public override DType DType => DType.U8;

        public override Shape Shape => Shape.Of(n);

        public override Tensor Open() => throw new NotSupportedException();

        public override void WriteTo(Stream destination)
        {
            var rng = new Random(seed);
            byte[] piece = new byte[12_345];
            for (int left = n; left > 0;)
            {
                int k = Math.Min(left, piece.Length);
                rng.NextBytes(piece.AsSpan(0, k));
                destination.Write(piece, 0, k);
                left -= k;
            }
        }
    }

    /// <summary>
    /// n bytes, each a function of its position, written into buffers lent by the destination when it is an
    /// <see cref="IBufferWriter{T}"/> (hints from 1 byte to 1.5 chunks, not always filled), else with plain writes.
    /// </summary>
    private sealed class LendingSource(int n, int seed) : TensorSource
    {
        public override DType DType => DType.U8;

        public override Shape Shape => Shape.Of(n);

        public override Tensor Open() => throw new NotSupportedException();

        public override void WriteTo(Stream destination)
        {
            var sizes = new Random(seed + 100);
            for (int left = n; left > 0;)
            {
                int hint = sizes.Next(4) switch
                {
                    0 => 1,
                    1 => 70_000,
                    2 => SourcePrefetcher.ChunkBytes + (SourcePrefetcher.ChunkBytes / 2),
                    _ => 0,
                };
                if (destination is IBufferWriter<byte> lender && hint > 0)
                {
                    Memory<byte> m = lender.GetMemory(hint);
                    Assert.True(m.Length >= hint);
                    int k = Math.Min(left, Math.Min(m.Length, hint + sizes.Next(3)));
                    Fill(m.Span[..k], n - left);
                    lender.Advance(k);
                    lender.Advance(0);
                    left -= k;
                }
                else
                {
                    int k = Math.Min(left, 12_345);
                    byte[] piece = new byte[k];
                    Fill(piece, n - left);
                    destination.Write(piece);
                    left -= k;
                }
            }
        }

        private void Fill(Span<byte> bytes, int position)
        {
            for (int i = 0; i < bytes.Length; i++)
            {
                int p = position + i;
                bytes[i] = (byte)((p * 31) + (p >> 9) + (seed * 77));
            }
        }
    }

    private sealed class FailingSource : TensorSource
    {
        public override DType DType => DType.U8;

        public override Shape Shape => Shape.Of(1);

        public override Tensor Open() => throw new NotSupportedException();

        public override void WriteTo(Stream destination) => throw new InvalidDataException("broken source");
    }
}
