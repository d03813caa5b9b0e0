using System.IO.Compression;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Nnef.Archive;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

/// <summary>
/// Level-0 <c>.tgz</c> files (stored deflate blocks: torch_to_nnef's default and ours) are read in place: the block
/// index must give exactly the bytes the gzip decoder gives, anything but stored blocks must yield no index, and the
/// gzip checksums must still be checked.
/// </summary>
public class StoredGzipTests
{
    private static byte[] Data(int n)
    {
        var rng = new Random(5);
        byte[] b = new byte[n];
        rng.NextBytes(b);
        return b;
    }

    private static byte[] Gzip(byte[] data, CompressionLevel level)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, level, leaveOpen: true))
        {
            // Several writes, as a tar writer does.
            for (int at = 0; at < data.Length; at += 100_000)
            {
                gz.Write(data, at, Math.Min(100_000, data.Length - at));
            }
        }

        return ms.ToArray();
    }

    private static StoredGzipIndex? Index(string path, out Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        handle = File.OpenHandle(path);
        return StoredGzipIndex.TryBuild(handle, RandomAccess.GetLength(handle));
    }

    [Fact]
    public void TheIndexReadsWhatTheDecoderReads()
    {
        using var dir = new TempDir();
        byte[] data = Data(1_000_003);
        byte[] second = Data(70_001);
        string path = dir.File("x.gz");

        // Two members, the first with a file name field, as gzip(1) writes.
        byte[] first = Gzip(data, CompressionLevel.NoCompression);
        first[3] |= 0x08;
        byte[] named = [.. first[..10], .. "x.tar\0"u8, .. first[10..]];
        File.WriteAllBytes(path, [.. named, .. Gzip(second, CompressionLevel.NoCompression)]);
        byte[] all = [.. data, .. second];

        StoredGzipIndex index = Index(path, out var handle) ?? throw new Xunit.Sdk.XunitException("no index for a level-0 gzip");
        using (handle)
        {
            Assert.Equal(all.Length, index.Length);
            var rng = new Random(9);
            for (int i = 0; i < 200; i++)
            {
                int offset = rng.Next(all.Length);
                int length = rng.Next(Math.Min(200_000, all.Length - offset) + 1);
                byte[] read = new byte[length];
                index.Read(handle, offset, read);
                Assert.True(all.AsSpan(offset, length).SequenceEqual(read), $"bytes at {offset}+{length}");
            }

            Assert.Throws<ArgumentOutOfRangeException>(() => index.Read(handle, all.Length - 10, new byte[11]));
        }
    }

    [Theory]
    [InlineData("compressed")]
    [InlineData("trailing-garbage")]
    [InlineData("tiny-blocks")]
    [InlineData("truncated")]
    public void AnythingButCleanStoredBlocksGivesNoIndex(string variant)
    {
        using var dir = new TempDir();
        byte[] data = Data(300_000);
        byte[] stored = Gzip(data, CompressionLevel.NoCompression);
        byte[] bytes = variant switch
        {
            "compressed" => Gzip(new byte[300_000], CompressionLevel.Fastest),
            "trailing-garbage" => [.. stored, 1, 2, 3],
            "truncated" => stored[..^20],
            _ => TinyBlocks(data[..50_000]),
        };
        File.WriteAllBytes(dir.File("x.gz"), bytes);
        using (GZipStream check = new(new MemoryStream(TinyBlocks([1, 2, 3])), CompressionMode.Decompress))
        {
            Assert.Equal([1, 2, 3], ReadAll(check));
        }

        Assert.Null(Index(dir.File("x.gz"), out var handle));
        handle.Dispose();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void ALevel0ArchiveReadsInPlaceAndStillHasItsChecksumsChecked(int level)
    {
        using var dir = new TempDir();
        float[] values = Enumerable.Range(0, 256 * 1024).Select(i => (i % 333) * 0.5f).ToArray();
        using Tensor w = Tensor.FromFloats(Shape.Of(256, 1024), values);
        var graph = new Graph();
        graph.AddVariable("w", "w", TensorSource.FromTensor(w));
        graph.Outputs.Add("w");
        string path = dir.File("m.nnef.tgz");
        NnefArchive.Write(graph, path, new NnefWriteOptions { CompressionLevel = level });

        Assert.Equal(level == 0, Index(path, out var handle) is not null);
        handle.Dispose();

        Graph back = NnefArchive.Read(path);
        using (Tensor read = back.Variables["w"].Source.Open())
        {
            Assert.Equal(values, read.AsSpan<float>().ToArray());
        }

        var stream = new MemoryStream();
        back.Variables["w"].Source.WriteTo(stream);
        Assert.Equal(values.Length * 4, stream.Length);

        if (level == 0)
        {
            // One payload byte changed in place: the blocks still parse, the CRC-32 no longer matches.
            byte[] bytes = File.ReadAllBytes(path);
            int at = bytes.AsSpan().IndexOf(BitConverter.GetBytes(values[12345]).AsSpan()) + 1;
            bytes[at] ^= 0x40;
            string corrupt = dir.File("corrupt.nnef.tgz");
            File.WriteAllBytes(corrupt, bytes);
            var e = Assert.Throws<InvalidInputFileException>(() => NnefArchive.Read(corrupt));
            Assert.Contains(corrupt, e.Message);
        }
    }

    // A stored-only deflate stream of 16-byte blocks, with a correct gzip trailer.
    private static byte[] TinyBlocks(byte[] data)
    {
        var ms = new MemoryStream();
        ms.Write([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
        for (int at = 0; at < data.Length; at += 16)
        {
            int n = Math.Min(16, data.Length - at);
            bool final = at + n == data.Length;
            ms.WriteByte((byte)(final ? 1 : 0));
            ms.Write([(byte)n, 0, (byte)~n, 0xff]);
            ms.Write(data, at, n);
        }

        ms.Write(BitConverter.GetBytes(Crc32(data)));
        ms.Write(BitConverter.GetBytes(data.Length));
        return ms.ToArray();
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc >> 1) ^ (0xEDB88320 & (uint)-(int)(crc & 1));
            }
        }

        return ~crc;
    }

    private static byte[] ReadAll(Stream s)
    {
        var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }
}
