using TorchToNnef.Errors;
using TorchToNnef.Ir;
using TorchToNnef.IO;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Core.Tests;

/// <summary>
/// Sources hand out bounded windows (issue 10, item 4): copying a mapped payload never asks for a span over all of
/// it (which would pull every page of the tensor into the resident set at once), windows cover the payload in order,
/// and regions of an open file map like whole files.
/// </summary>
public class StreamingTests
{
    private static byte[] Bytes(int n) => Enumerable.Range(0, n).Select(i => (byte)(i * 7 + (i >> 8))).ToArray();

    [Fact]
    public void CopyingAMappedPayloadGoesThroughBoundedWindowsNeverTheWholeSpan()
    {
        byte[] bytes = Bytes((3 * TensorData.DefaultWindowBytes) + 12345);
        var data = new WindowOnlyData(bytes);
        using var tensor = new Tensor(DType.U8, Shape.Of(bytes.Length), data);
        var sink = new MemoryStream();
        TensorSource.FromTensor(tensor).WriteTo(sink);
        Assert.Equal(bytes, sink.ToArray());
        Assert.Equal(4, data.Windows);
        Assert.Equal(TensorData.DefaultWindowBytes, data.LargestWindow);
    }

    [Fact]
    public void WindowsOfEachKindOfPayloadCoverTheRangeInOrder()
    {
        using var dir = new TempDir();
        byte[] bytes = Bytes(100_003);
        File.WriteAllBytes(dir.File("blob"), bytes);
        using MappedFile mapped = MappedFile.Open(dir.File("blob"));
        using OwnedTensorData owned = OwnedTensorData.CopyOf(bytes);
        var readOnly = new ReadOnlyData(bytes);
        foreach (TensorData data in new[] { mapped.Slice(0, bytes.Length), owned, readOnly })
        {
            var seen = new List<byte>();
            var sizes = new List<int>();
            data.ForEachWindow(17, bytes.Length - 20, 4096, seen, (window, s) =>
            {
                s.AddRange(window.ToArray());
                sizes.Add(window.Length);
            });
            Assert.Equal(bytes[17..^3], seen.ToArray());
            Assert.All(sizes[..^1], n => Assert.Equal(4096, n));
            Assert.Throws<ArgumentOutOfRangeException>(() => data.ForEachWindow(10, bytes.Length, 4096, 0, (_, _) => { }));
        }

        Assert.Equal(0, readOnly.SpanRequests);
    }

    [Fact]
    public void ARegionOfAnOpenFileMapsLikeAFile()
    {
        using var dir = new TempDir();
        byte[] bytes = Bytes(50_000);
        File.WriteAllBytes(dir.File("blob"), bytes);
        using var handle = File.OpenHandle(dir.File("blob"));
        using MappedFile region = MappedFile.FromHandle(handle, 4099, 30_000, "blob[4099..]", ownsHandle: false);
        Assert.Equal(30_000, region.Length);
        using TensorData slice = region.Slice(10, 20_000);
        Assert.True(slice.TryGetSpan(out ReadOnlySpan<byte> all));
        Assert.Equal(bytes.AsSpan(4109, 20_000).ToArray(), all.ToArray());
        byte[] read = new byte[100];
        slice.Read(19_900, read);
        Assert.Equal(bytes.AsSpan(4109 + 19_900, 100).ToArray(), read);
        using (TensorWindow window = slice.OpenWindow(5000, 3000)!)
        {
            Assert.Equal(bytes.AsSpan(4109 + 5000, 3000).ToArray(), window.Span.ToArray());
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => MappedFile.FromHandle(handle, 40_000, 10_001, "past the end", ownsHandle: false));
        Assert.Throws<ArgumentOutOfRangeException>(() => region.Slice(29_999, 2));
    }

    [Fact]
    public void OnlyRegularFilesOpenAsInputs()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("ok"), [1, 2, 3]);
        using (var handle = InputFile.OpenHandle(dir.File("ok")))
        {
            Assert.Equal(3, RandomAccess.GetLength(handle));
        }

        SpecialFiles.MakeFifo(dir.File("fifo"));
        File.CreateSymbolicLink(dir.File("zero"), SpecialFiles.ZeroDevice);
        foreach ((string path, string kind) in new[] { (dir.File("fifo"), "FIFO"), (dir.File("zero"), "character device"), (dir.Path, "directory") })
        {
            Exception? e = SpecialFiles.RunWithoutBlocking(() => InputFile.OpenHandle(path).Dispose(), TimeSpan.FromSeconds(20), dir.File("fifo"));
            var error = Assert.IsType<InvalidInputFileException>(e);
            Assert.Contains(path, error.Message);
            Assert.Contains(kind, error.Message);
        }

        Assert.Throws<FileNotFoundException>(() => InputFile.OpenHandle(dir.File("missing")));
        var big = Assert.Throws<InvalidInputFileException>(() => InputFile.ReadAllBytes(dir.File("ok"), 2, "config"));
        Assert.Contains("config is 3 bytes, above the 2-byte limit", big.Message);
        Assert.Equal([1, 2, 3], InputFile.ReadAllBytes(dir.File("ok"), 3, "config"));
    }

    /// <summary>A mapped-like payload: windows only; asking for the whole span fails the test.</summary>
    private sealed class WindowOnlyData(byte[] bytes) : TensorData
    {
        public int Windows { get; private set; }

        public int LargestWindow { get; private set; }

        public override long ByteLength => bytes.Length;

        public override void Read(long offset, Span<byte> destination) => throw new InvalidOperationException("copy through windows");

        public override bool TryGetSpan(out ReadOnlySpan<byte> all) => throw new InvalidOperationException("the whole payload was asked for");

        public override TensorWindow? OpenWindow(long offset, int length)
        {
            CheckRange(offset, length);
            Windows++;
            LargestWindow = Math.Max(LargestWindow, length);
            return new ArrayWindow(bytes.AsMemory((int)offset, length));
        }
    }

    /// <summary>A payload with positional reads only.</summary>
    private sealed class ReadOnlyData(byte[] bytes) : TensorData
    {
        public int SpanRequests { get; private set; }

        public override long ByteLength => bytes.Length;

        public override void Read(long offset, Span<byte> destination)
        {
            CheckRange(offset, destination.Length);
            bytes.AsSpan((int)offset, destination.Length).CopyTo(destination);
        }

        public override bool TryGetSpan(out ReadOnlySpan<byte> all)
        {
            SpanRequests++;
            all = default;
            return false;
        }
    }

    private sealed class ArrayWindow(ReadOnlyMemory<byte> memory) : TensorWindow
    {
        public override ReadOnlySpan<byte> Span => memory.Span;
    }
}
