using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Tests.FuzzFindings;

/// <summary>Inputs the <c>dat</c> fuzz target found (fuzz/README.md), rebuilt by hand, each with the error it must give.</summary>
public class DatFuzzFindingsTests
{
    private static byte[] Header(DType dtype, long elements)
    {
        var bytes = new byte[DatHeader.Size];
        DatHeader.For(dtype, new Shape(elements)).WriteTo(bytes);
        return bytes;
    }

    // A bare 128-byte header announcing 256 MiB made the reader allocate the 256 MiB before finding the payload missing.
    [Fact]
    public void DeclaredPayloadIsCheckedAgainstTheStreamBeforeAllocating()
    {
        byte[] input = [.. Header(DType.F32, 1 << 26), 1, 2, 3];
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidInputFileException>(() => DatFile.Read(new MemoryStream(input), "x.dat", "x"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Contains("truncated payload", e.Message);
        Assert.True(allocated < 1 << 20, $"{allocated} bytes allocated to refuse a {input.Length}-byte file");
    }

    // Over 2 GiB cannot be one in-memory tensor, and where the stream's length is unknown the claim cannot be checked
    // up front: a documented error either way (not the allocator's ArgumentOutOfRangeException), at a cost unrelated
    // to the 2.4 GB claimed.
    [Fact]
    public void PayloadLargerThanAnArrayIsADocumentedErrorOnAnUnseekableStream()
    {
        byte[] input = Header(DType.F32, 600_000_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.ThrowsAny<TorchToNnefException>(() => DatFile.Read(new ForwardOnlyStream(input), "x.dat", "x"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 8 << 20, $"{allocated} bytes allocated to refuse a {input.Length}-byte stream");
    }

    // dims [2^31, 2^31] of f64 is 2^65 bytes, which wrapped round to 0 in the unchecked size product, so a header
    // declaring a 0-byte payload was accepted as a 2^62-element tensor.
    [Theory]
    [InlineData(64u, 0u)]
    [InlineData(32u, 0u)]
    [InlineData(16u, 0u)]
    public void ByteSizeBeyond64BitsDoesNotWrapRoundToTheDeclaredSize(uint bits, uint declared)
    {
        var header = new byte[DatHeader.Size];
        Header(DType.F32, 1).CopyTo(header, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), declared);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 2);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), 1u << 31);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), 1u << 31);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(44), bits);

        var e = Assert.Throws<InvalidInputFileException>(() => DatHeader.Parse(header, "x.dat", "x"));
        Assert.Contains("needs more than 2^63 bytes", e.Message);
    }

    private sealed class ForwardOnlyStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes, writable: false);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
