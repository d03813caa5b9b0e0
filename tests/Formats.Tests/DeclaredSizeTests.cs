using System.IO.Compression;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Numpy;
using TorchToNnef.Formats.Tests.Numpy;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests;

/// <summary>
/// Sizes that <c>.dat</c>, <c>.npy</c> and zip headers declare are checked against what the file or entry can hold
/// before a buffer of that size is allocated (issue 8, item 5). Allocations are measured on the reading thread: a
/// header claiming 2 GB may not cost more than the bytes that are really there.
/// </summary>
public class DeclaredSizeTests
{
    private const long Limit = 4 << 20;

    private static (Exception Error, long Allocated) MeasureFailure(Action read)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        Exception e = Record.Exception(read) ?? throw new Xunit.Sdk.XunitException("expected the read to fail");
        return (e, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static byte[] LyingDat()
    {
        byte[] dat = new byte[DatHeader.Size + 16];
        DatHeader.For(DType.F16, Shape.Of(32768, 32768)).WriteTo(dat);
        return dat;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ADatHeaderClaimingMoreThanTheStreamHoldsCostsNothing(bool seekable)
    {
        byte[] dat = LyingDat();
        Stream stream = seekable ? new MemoryStream(dat) : new ForwardOnly(dat);
        (Exception error, long allocated) = MeasureFailure(() => DatFile.Read(stream, "x.dat", "w"));
        var e = Assert.IsType<InvalidInputFileException>(error);
        Assert.StartsWith("x.dat: tensor 'w': truncated payload", e.Message, StringComparison.Ordinal);
        Assert.True(allocated < Limit, $"{allocated} bytes allocated");
    }

    [Theory]
    [InlineData(CompressionLevel.NoCompression)]
    [InlineData(CompressionLevel.Optimal)]
    public void AnNpyHeaderClaimingMoreThanItsZipEntryHoldsCostsNothing(CompressionLevel level)
    {
        using var dir = new TempDir();
        byte[] npy = NpyFileTests.NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (500000000,)}", new byte[64]);
        string path = dir.File("x.npz");
        WriteZip(path, level, ("w.npy", npy));
        using NpzArchive npz = NpzArchive.Open(path);
        (Exception error, long allocated) = MeasureFailure(() => npz.ReadTensor("w"));
        var e = Assert.IsType<InvalidInputFileException>(error);
        Assert.StartsWith(path + ": tensor 'w': truncated payload", e.Message, StringComparison.Ordinal);
        Assert.Contains("2000000000 bytes", e.Message);
        Assert.True(allocated < Limit, $"{allocated} bytes allocated");
    }

    [Fact]
    public void AZipEntryThatExpandsAHundredfoldIsRefusedBeforeItIsRead()
    {
        using var dir = new TempDir();
        byte[] npy = NpyFileTests.NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (33554432,)}", new byte[128 << 20]);
        string path = dir.File("bomb.npz");
        WriteZip(path, CompressionLevel.Optimal, ("w.npy", npy));
        Assert.True(new FileInfo(path).Length < (1 << 20));
        using NpzArchive npz = NpzArchive.Open(path);
        (Exception error, long allocated) = MeasureFailure(() => npz.ReadTensor("w"));
        var e = Assert.IsType<InvalidInputFileException>(error);
        Assert.StartsWith(path + ": tensor 'w': the zip entry expands to more than 100 times", e.Message, StringComparison.Ordinal);
        Assert.Contains("decompression bomb", e.Message);
        Assert.True(allocated < Limit, $"{allocated} bytes allocated");

        // The same array stored (not deflated) is ordinary data.
        string stored = dir.File("stored.npz");
        WriteZip(stored, CompressionLevel.NoCompression, ("w.npy", npy));
        using NpzArchive plain = NpzArchive.Open(stored);
        using Tensor w = plain.ReadTensor("w");
        Assert.Equal(33554432, w.ElementCount);
    }

    [Fact]
    public void AZipDirectoryClaimingMoreCompressedBytesThanTheFileIsRefused()
    {
        using var dir = new TempDir();
        byte[] npy = NpyFileTests.NpyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,)}", new byte[16]);
        string path = dir.File("x.npz");
        WriteZip(path, CompressionLevel.NoCompression, ("w.npy", npy));
        byte[] zip = File.ReadAllBytes(path);

        // Central directory entry: signature 50 4B 01 02; compressed and uncompressed sizes at +20 and +24.
        int central = zip.AsSpan().IndexOf((ReadOnlySpan<byte>)[0x50, 0x4B, 0x01, 0x02]);
        BitConverter.GetBytes(0x7FFF0000).CopyTo(zip, central + 20);
        BitConverter.GetBytes(0x7FFF0000).CopyTo(zip, central + 24);
        File.WriteAllBytes(path, zip);
        using NpzArchive npz = NpzArchive.Open(path);
        (Exception error, long allocated) = MeasureFailure(() => npz.ReadTensor("w"));
        var e = Assert.IsType<InvalidInputFileException>(error);
        Assert.StartsWith(path + ": tensor 'w': ", e.Message, StringComparison.Ordinal);
        Assert.Contains("compressed bytes for this entry", e.Message);
        Assert.True(allocated < Limit, $"{allocated} bytes allocated");
    }

    private static void WriteZip(string path, CompressionLevel level, params (string Name, byte[] Bytes)[] entries)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach ((string name, byte[] bytes) in entries)
        {
            using Stream s = zip.CreateEntry(name, level).Open();
            s.Write(bytes);
        }
    }

    /// <summary>A stream that cannot seek or tell its length, like a pipe or a deflated entry.</summary>
    private sealed class ForwardOnly(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
