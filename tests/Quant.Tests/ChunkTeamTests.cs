namespace TorchToNnef.Quant.Tests;

/// <summary>
/// <see cref="ChunkTeam"/> replaces <c>Parallel.For</c> for Q4_0 windows: each index must run exactly once, calls from
/// several threads at once must each see only their own indices, and the first exception of a call must come back
/// as itself (not wrapped), with the other chunks of that call finished or skipped before it returns.
/// </summary>
public class ChunkTeamTests
{
    [Theory]
    [InlineData(1, 2)]
    [InlineData(2, 2)]
    [InlineData(14, 2)]
    [InlineData(33, 4)]
    [InlineData(7, 1)]
    public void EveryIndexRunsOnce(int count, int parallelism)
    {
        int[] calls = new int[count];
        ChunkTeam.Run(count, parallelism, i => Interlocked.Increment(ref calls[i]));
        Assert.All(calls, c => Assert.Equal(1, c));
    }

    [Fact]
    public void ConcurrentCallersGetTheirOwnIndices()
    {
        const int Callers = 4, Rounds = 300;
        int[][] calls = [.. Enumerable.Range(0, Callers).Select(_ => new int[Rounds * 9])];
        Parallel.For(0, Callers, new ParallelOptions { MaxDegreeOfParallelism = Callers }, c =>
        {
            for (int r = 0; r < Rounds; r++)
            {
                int round = r;
                ChunkTeam.Run(9, 2, i =>
                {
                    Thread.SpinWait(50);
                    Interlocked.Increment(ref calls[c][(round * 9) + i]);
                });
                for (int i = 0; i < 9; i++)
                {
                    // Run returned: all of this round's chunks are done.
                    Assert.Equal(1, Volatile.Read(ref calls[c][(round * 9) + i]));
                }
            }
        });
        Assert.All(calls, perCaller => Assert.All(perCaller, n => Assert.Equal(1, n)));
    }

    [Fact]
    public void TheFirstExceptionComesBackAsItself()
    {
        int running = 0;
        var e = Assert.Throws<InvalidDataException>(() => ChunkTeam.Run(20, 2, i =>
        {
            Interlocked.Increment(ref running);
            Thread.Sleep(1);
            Interlocked.Decrement(ref running);
            if (i == 3)
            {
                throw new InvalidDataException("chunk 3");
            }
        }));
        Assert.Equal("chunk 3", e.Message);
        Assert.Equal(0, Volatile.Read(ref running));
    }
}
