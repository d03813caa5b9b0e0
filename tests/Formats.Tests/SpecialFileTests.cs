using TorchToNnef.Errors;
using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Numpy;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests;

/// <summary>
/// Issue 8, item 6: a FIFO or a device where a reader expects a regular file (an archive, a safetensors or npz input,
/// or <c>graph.nnef</c>, <c>graph.quant</c> or a <c>.dat</c> inside a model folder) is refused at once with an error
/// naming it; before, opening a FIFO waited for a writer forever and a device was read as endless data.
/// </summary>
public class SpecialFileTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private const string Graph = """
        version 1.0;
        graph g(x) -> (y)
        {
            x = external(shape = [2]);
            w = variable<scalar>(label = 'w', shape = [2]);
            y = add(x, w);
        }
        """;

    public static TheoryData<string> ModelMembers => new() { "graph.nnef", "graph.quant", "w.dat" };

    private static void AssertRefused(Exception? e, string path)
    {
        var error = Assert.IsType<InvalidInputFileException>(e);
        Assert.Contains(path, error.Message);
        Assert.Contains("not a regular file", error.Message);
    }

    private static TempDir ModelFolder()
    {
        var dir = new TempDir();
        File.WriteAllText(dir.File("graph.nnef"), Graph);
        byte[] w = new byte[DatHeader.Size + 8];
        DatHeader.For(DType.F32, Shape.Of(2)).WriteTo(w);
        File.WriteAllBytes(dir.File("w.dat"), w);
        return dir;
    }

    [Theory]
    [MemberData(nameof(ModelMembers))]
    public void AFifoInAModelFolderIsRefused(string member)
    {
        using TempDir dir = ModelFolder();
        string fifo = dir.File(member);
        File.Delete(fifo);
        SpecialFiles.MakeFifo(fifo);
        AssertRefused(SpecialFiles.RunWithoutBlocking(() => NnefArchive.Read(dir.Path), Patience, fifo), fifo);
        AssertRefused(
            SpecialFiles.RunWithoutBlocking(() => NnefArchive.Read(dir.Path, new NnefReadOptions { HeadersOnly = true }), Patience, fifo), fifo);
    }

    [Theory]
    [MemberData(nameof(ModelMembers))]
    public void ADeviceLinkedIntoAModelFolderIsRefused(string member)
    {
        using TempDir dir = ModelFolder();
        string link = dir.File(member);
        File.Delete(link);
        File.CreateSymbolicLink(link, SpecialFiles.ZeroDevice);
        AssertRefused(SpecialFiles.RunWithoutBlocking(() => NnefArchive.Read(dir.Path), Patience), link);
    }

    [Fact]
    public void AFifoOrDeviceGivenAsAnInputIsRefused()
    {
        using var dir = new TempDir();
        foreach (string name in new[] { "m.nnef.tgz", "m.tar", "m.safetensors", "io.npz", "a.npy", "config.json", "model.safetensors.index.json" })
        {
            string fifo = dir.File(name);
            SpecialFiles.MakeFifo(fifo);
            Action read = name switch
            {
                "m.nnef.tgz" or "m.tar" => () => NnefArchive.Read(fifo),
                "m.safetensors" => () => SafetensorsFile.Open(fifo).Dispose(),
                "io.npz" => () => NpzArchive.Open(fifo).Dispose(),
                "a.npy" => () => NpyFile.Read(fifo).Dispose(),
                "config.json" => () => ModelConfigSummary.Read(fifo),
                _ => () => SafetensorsCheckpoint.Open(fifo).Dispose(),
            };
            AssertRefused(SpecialFiles.RunWithoutBlocking(read, Patience, fifo), fifo);
        }

        AssertRefused(SpecialFiles.RunWithoutBlocking(() => NnefArchive.Read(SpecialFiles.ZeroDevice), Patience), SpecialFiles.ZeroDevice);
        AssertRefused(SpecialFiles.RunWithoutBlocking(() => SafetensorsFile.Open(SpecialFiles.ZeroDevice).Dispose(), Patience), SpecialFiles.ZeroDevice);
        AssertRefused(SpecialFiles.RunWithoutBlocking(() => NpzArchive.Open(SpecialFiles.ZeroDevice).Dispose(), Patience), SpecialFiles.ZeroDevice);
    }

    [Fact]
    public void AFifoBesideTheModelThatNothingReadsIsIgnored()
    {
        using TempDir dir = ModelFolder();
        SpecialFiles.MakeFifo(dir.File("notes.txt"));
        SpecialFiles.MakeFifo(dir.File("model.safetensors"));
        Exception? e = SpecialFiles.RunWithoutBlocking(() => NnefArchive.Read(dir.Path), Patience, dir.File("notes.txt"), dir.File("model.safetensors"));
        Assert.Null(e);
    }
}
