using System.Buffers.Binary;
using System.IO.Compression;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Numpy;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Numpy;

public class NpzArchiveTests
{
    [Theory]
    [InlineData(false, 0)] // numpy.savez: stored
    [InlineData(true, 8)] // numpy.savez_compressed: deflated
    public void RoundTripsInOrderDeterministicallyWithTheRequestedMethod(bool compressed, int zipMethod)
    {
        using var dir = new TempDir();
        using Tensor b = Tensor.FromFloats(Shape.Of(64, 64), new float[64 * 64]); // compressible
        using Tensor a = Tensor.FromSpan<long>(DType.I64, Shape.Of(1, 3), [5, -6, 7]);
        using Tensor c = Tensor.Allocate(DType.F16, Shape.Of(1, 2, 0, 16));
        (string, Tensor)[] entries = [("zeta", b), ("alpha", a), ("empty", c)];

        NpzArchive.Write(dir.File("x.npz"), entries, compressed);
        NpzArchive.Write(dir.File("y.npz"), entries, compressed);
        Assert.Equal(File.ReadAllBytes(dir.File("x.npz")), File.ReadAllBytes(dir.File("y.npz")));

        using (var zip = ZipFile.OpenRead(dir.File("x.npz")))
        {
            Assert.Equal(["zeta.npy", "alpha.npy", "empty.npy"], zip.Entries.Select(e => e.FullName));
            Assert.Equal(compressed, zip.GetEntry("zeta.npy")!.CompressedLength < zip.GetEntry("zeta.npy")!.Length);
        }

        // Compression method of the first local file header (offset 8).
        Assert.Equal(zipMethod, BinaryPrimitives.ReadUInt16LittleEndian(File.ReadAllBytes(dir.File("x.npz")).AsSpan(8)));

        IReadOnlyList<(string Name, Tensor Tensor)> back = NpzArchive.Read(dir.File("x.npz"));
        try
        {
            Assert.Equal(["zeta", "alpha", "empty"], back.Select(e => e.Name));
            Assert.Equal(b.Bytes.ToArray(), back[0].Tensor.Bytes.ToArray());
            Assert.Equal([5L, -6L, 7L], back[1].Tensor.AsSpan<long>().ToArray());
            Assert.Equal(c.Shape, back[2].Tensor.Shape);
            Assert.Equal(DType.F16, back[2].Tensor.DType);
        }
        finally
        {
            foreach ((_, Tensor t) in back)
            {
                t.Dispose();
            }
        }
    }

    [Fact]
    public void LargeDeflatedEntryIsReadThroughTheGrowingBuffer()
    {
        // 3 MB of f32: larger than the first unseekable buffer, so the payload buffer has to grow.
        using var dir = new TempDir();
        var values = new float[750_000];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = i % 1000;
        }

        using Tensor t = Tensor.FromFloats(Shape.Of(values.Length), values);
        NpzArchive.Write(dir.File("big.npz"), [("v", t)], compressed: true);
        using NpzArchive npz = NpzArchive.Open(dir.File("big.npz"));
        using Tensor back = npz.ReadTensor("v");
        Assert.Equal(values, back.AsSpan<float>().ToArray());
    }

    [Fact]
    public void FailedWriteLeavesNothingBehind()
    {
        using var dir = new TempDir();
        using Tensor ok = Tensor.FromFloats(Shape.Of(1), [1f]);
        using Tensor bf16 = Tensor.Allocate(DType.BF16, Shape.Of(1));
        Assert.Throws<UnsupportedFeatureException>(() => NpzArchive.Write(dir.File("x.npz"), [("ok", ok), ("bad", bf16)], compressed: false));
        Assert.Throws<ArgumentException>(() => NpzArchive.Write(dir.File("x.npz"), [("../evil", ok)], compressed: false));
        Assert.Throws<ArgumentException>(() => NpzArchive.Write(dir.File("x.npz"), [("a", ok), ("a", ok)], compressed: false));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void NotAZipIsRejected()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("x.npz"), "definitely not a zip archive");
        var e = Assert.Throws<InvalidInputFileException>(() => NpzArchive.Open(dir.File("x.npz")));
        Assert.StartsWith(dir.File("x.npz") + ": not a valid zip archive", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CentralDirectoryThatDisagreesWithItsEntryCountIsRejected()
    {
        // The zip central directory is read lazily by the BCL; a corrupt one must still be our error, not a crash.
        using var dir = new TempDir();
        byte[] npy = NpyFileTests.NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", new byte[4]);
        WriteZip(dir.File("x.npz"), ("a.npy", npy), ("b.npy", npy));
        byte[] zip = File.ReadAllBytes(dir.File("x.npz"));
        int eocd = zip.Length - 22; // end-of-central-directory record, no archive comment
        Assert.Equal(0x06054b50u, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(eocd)));
        zip[eocd + 8] = 3; // entries on this disk
        zip[eocd + 10] = 3; // total entries: now one more than the directory holds
        File.WriteAllBytes(dir.File("x.npz"), zip);
        var e = Assert.Throws<InvalidInputFileException>(() => NpzArchive.Open(dir.File("x.npz")));
        Assert.StartsWith(dir.File("x.npz") + ": not a valid zip archive", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EntryThatIsNotNpyIsRejected()
    {
        using var dir = new TempDir();
        WriteZip(dir.File("x.npz"), ("a.npy", NpyFileTests.NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", new byte[4])), ("readme.txt", [1]));
        var e = Assert.Throws<InvalidInputFileException>(() => NpzArchive.Open(dir.File("x.npz")));
        Assert.Contains("entry 'readme.txt' is not a .npy array", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateEntryIsRejected()
    {
        using var dir = new TempDir();
        byte[] npy = NpyFileTests.NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': ()}", new byte[4]);
        WriteZip(dir.File("x.npz"), ("a.npy", npy), ("a.npy", npy));
        var e = Assert.Throws<InvalidInputFileException>(() => NpzArchive.Open(dir.File("x.npz")));
        Assert.Contains("tensor 'a': array stored twice", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(CompressionLevel.NoCompression)]
    [InlineData(CompressionLevel.Optimal)]
    public void TruncatedArrayInsideAnEntryNamesTheArray(CompressionLevel level)
    {
        using var dir = new TempDir();
        byte[] npy = NpyFileTests.NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000,)}", new byte[100]);
        WriteZip(dir.File("x.npz"), level, ("w.npy", npy));
        using NpzArchive npz = NpzArchive.Open(dir.File("x.npz"));
        var e = Assert.Throws<InvalidInputFileException>(() => npz.ReadTensor("w"));
        Assert.StartsWith(dir.File("x.npz") + ": tensor 'w': truncated payload", e.Message, StringComparison.Ordinal);
        Assert.Contains("100", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CorruptDeflateStreamIsReported()
    {
        using var dir = new TempDir();
        using Tensor t = Tensor.FromFloats(Shape.Of(4096), new float[4096]);
        NpzArchive.Write(dir.File("x.npz"), [("w", t)], compressed: true);
        byte[] bytes = File.ReadAllBytes(dir.File("x.npz"));
        int dataStart = 30 + BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(26)) + BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(28));
        bytes[dataStart] = 0xFF; // an invalid deflate block type
        bytes[dataStart + 1] = 0xFF;
        File.WriteAllBytes(dir.File("x.npz"), bytes);
        using NpzArchive npz = NpzArchive.Open(dir.File("x.npz"));
        var e = Assert.Throws<InvalidInputFileException>(() => npz.ReadTensor("w"));
        Assert.StartsWith(dir.File("x.npz") + ": tensor 'w': ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingArrayIsReported()
    {
        using var dir = new TempDir();
        using Tensor t = Tensor.FromFloats(Shape.Of(1), [1f]);
        NpzArchive.Write(dir.File("x.npz"), [("w", t)], compressed: false);
        using NpzArchive npz = NpzArchive.Open(dir.File("x.npz"));
        var e = Assert.Throws<InvalidInputFileException>(() => npz.ReadTensor("nope"));
        Assert.Equal($"{dir.File("x.npz")}: tensor 'nope': no such array in the archive", e.Message);
    }

    private static void WriteZip(string path, params (string Name, byte[] Bytes)[] entries) =>
        WriteZip(path, CompressionLevel.NoCompression, entries);

    private static void WriteZip(string path, CompressionLevel level, params (string Name, byte[] Bytes)[] entries)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach ((string name, byte[] bytes) in entries)
        {
            using Stream s = zip.CreateEntry(name, level).Open();
            s.Write(bytes);
        }
    }
}
