using TorchToNnef.IO;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Core.Tests;

public class AtomicFileTests
{
    [Fact]
    public void CompleteWriteReplacesTheDestination()
    {
        using var dir = new TempDir();
        string path = dir.File("out.bin");
        File.WriteAllText(path, "old");
        AtomicFile.Write(path, s => s.Write("new"u8));
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void FailedWriteLeavesTheDestinationAndNoTemporaryFile()
    {
        using var dir = new TempDir();
        string path = dir.File("out.bin");
        File.WriteAllText(path, "old");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write("partial"u8);
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));

        string fresh = dir.File("fresh.bin");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(fresh, _ => throw new InvalidOperationException("boom")));
        Assert.False(File.Exists(fresh));
    }

    [Fact]
    public void TemporaryFileSitsNextToTheDestinationWhileWriting()
    {
        using var dir = new TempDir();
        string path = dir.File("out.bin");
        AtomicFile.Write(path, s =>
        {
            Assert.Equal(dir.Path, Path.GetDirectoryName(s.Name));
            Assert.NotEqual(path, s.Name);
            Assert.False(File.Exists(path));
        });
        Assert.True(File.Exists(path));
    }

    [Fact]
    public void NonDurableWritesAreStillAtomicAndLeaveNoTemporaryFile()
    {
        using var dir = new TempDir();
        string path = dir.File("out.bin");
        AtomicFile.Write(path, s => s.Write([1, 2, 3]), durable: false);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write([9, 9]);
            throw new InvalidOperationException("boom");
        }, durable: false));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }
}
