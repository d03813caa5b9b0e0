using System.IO.Compression;
using TorchToNnef.Formats.Nnef.Archive;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

/// <summary>
/// The level-0 gzip writer frames stored blocks itself: whatever mix of small span writes and large array writes it
/// gets (sizes around the block limit, the in-place threshold and the gather limit), the file must decode with .NET's
/// zlib-based decoder (which checks the CRC-32 and length in the trailer) to exactly the bytes written, start with the
/// fixed gzip header, and be indexable by <see cref="StoredGzipIndex"/> for reads in place.
/// </summary>
public class StoredGzipWriterTests
{
    public static TheoryData<int> Seeds => [1, 2, 3];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void MixedWritesDecodeToTheSameBytes(int seed)
    {
        var rng = new Random(seed);
        int[] sizes =
        [
            0, 1, 5, 512, StoredGzipWriter.DirectBytes - 1, StoredGzipWriter.DirectBytes, StoredGzipWriter.MaxBlock - 1,
            StoredGzipWriter.MaxBlock, StoredGzipWriter.MaxBlock + 1, 1 << 20, (128 * StoredGzipWriter.MaxBlock) + 7, 3 * 65536,
        ];
        var expected = new MemoryStream();
        using var dir = new TempDir();
        string path = dir.File("x.gz");
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            var writer = new StoredGzipWriter(file);
            for (int i = 0; i < 60; i++)
            {
                int n = rng.Next(3) == 0 ? sizes[rng.Next(sizes.Length)] : rng.Next(70_000);
                byte[] data = new byte[n + 3];
                rng.NextBytes(data);
                if (rng.Next(2) == 0)
                {
                    writer.Write(data, 3, n);
                }
                else
                {
                    writer.Write(data.AsSpan(3, n));
                }

                expected.Write(data, 3, n);
            }

            writer.Finish();
            Assert.Equal(new FileInfo(path).Length, file.Position);
            Assert.Equal(expected.Length, writer.UncompressedLength);
        }

        byte[] gz = File.ReadAllBytes(path);
        Assert.Equal(new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 0xFF }, gz[..10]);
        using (var decoder = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress))
        {
            var decoded = new MemoryStream();
            decoder.CopyTo(decoded);
            Assert.True(expected.ToArray().AsSpan().SequenceEqual(decoded.ToArray()), "decoded bytes differ");
        }

        using var handle = File.OpenHandle(path);
        StoredGzipIndex index = StoredGzipIndex.TryBuild(handle, RandomAccess.GetLength(handle)) ?? throw new Xunit.Sdk.XunitException("no index");
        Assert.Equal(expected.Length, index.Length);
        byte[] all = expected.ToArray();
        for (int i = 0; i < 100; i++)
        {
            int offset = rng.Next(all.Length);
            byte[] read = new byte[rng.Next(Math.Min(300_000, all.Length - offset) + 1)];
            index.Read(handle, offset, read);
            Assert.True(all.AsSpan(offset, read.Length).SequenceEqual(read), $"bytes at {offset}+{read.Length}");
        }
    }

    [Fact]
    public void AFlippedPayloadByteFailsTheChecksum()
    {
        using var dir = new TempDir();
        string path = dir.File("x.gz");
        byte[] data = new byte[300_000];
        new Random(7).NextBytes(data);
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            var writer = new StoredGzipWriter(file);
            writer.Write(data, 0, data.Length);
            writer.Finish();
        }

        byte[] gz = File.ReadAllBytes(path);
        gz[100_000] ^= 0x10;
        using var decoder = new GZipStream(new MemoryStream(gz), CompressionMode.Decompress);
        Assert.Throws<InvalidDataException>(() => decoder.CopyTo(Stream.Null));
    }

    [Fact]
    public void AnEmptyStreamIsAValidGzip()
    {
        using var dir = new TempDir();
        string path = dir.File("x.gz");
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            new StoredGzipWriter(file).Finish();
        }

        using var decoder = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        Assert.Equal(-1, decoder.ReadByte());
    }
}
