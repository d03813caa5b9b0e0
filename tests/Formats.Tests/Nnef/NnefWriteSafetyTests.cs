using System.Diagnostics;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Nnef.Text;
using TorchToNnef.IO;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

/// <summary>
/// The NNEF writer validates before it writes, replaces only NNEF outputs, and leaves nothing behind when it fails or
/// is cancelled; the reader refuses outputs that are ambiguous.
/// </summary>
public class NnefWriteSafetyTests
{
    private static TensorSource Floats(params float[] v) => TensorSource.FromTensor(Tensor.FromFloats(Shape.Of(v.Length), v));

    private static Graph Small()
    {
        var g = new Graph();
        g.Registries.Add("tract_core");
        g.AddInput("x", DType.F32, [Dim.Of(2)]);
        g.AddVariable("w", "w", Floats(1, 2));
        g.Nodes.Add(new Node("add", "y").With(Arg.Ref("x")).With(Arg.Ref("w")));
        g.Outputs.Add("y");
        return g;
    }

    public static TheoryData<string> Malformed() => ["undefined", "duplicate", "recursive", "output twice"];

    private static Graph MakeMalformed(string kind)
    {
        Graph g = Small();
        switch (kind)
        {
            case "undefined":
                g.Nodes.Add(new Node("add", "z").With(Arg.Ref("y")).With(Arg.Ref("ghost")));
                g.Outputs[0] = "z";
                break;
            case "duplicate":
                g.Nodes.Add(new Node("relu", "y").With(Arg.Ref("x")));
                break;
            case "recursive":
                var f = new Fragment("loop") { Body = [new Node("loop", "r").With(Arg.Ref("a"))] };
                f.Parameters.Add(new FragmentParameter("a", "tensor<scalar>"));
                f.Results.Add(new FragmentResult("r", "tensor<scalar>"));
                g.Fragments.Add(f);
                g.Nodes.Add(new Node("loop", "z").With(Arg.Ref("y")));
                g.Outputs[0] = "z";
                break;
            default:
                g.Outputs.Add("y");
                break;
        }

        return g;
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void AMalformedGraphIsRefusedBeforeAnythingIsWritten(string kind)
    {
        using var tmp = new TempDir();
        foreach (string dest in new[] { tmp.File("o"), tmp.File("o.nnef.tgz"), tmp.File("o.tar") })
        {
            Assert.Throws<InvalidGraphException>(() => NnefArchive.Write(MakeMalformed(kind), dest));
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp.Path));
    }

    [Fact]
    public void OverwriteReplacesOnlyNnefOutputs()
    {
        using var tmp = new TempDir();
        var overwrite = new NnefWriteOptions { Overwrite = true };

        string foreign = tmp.File("photos");
        Directory.CreateDirectory(Path.Combine(foreign, "2024"));
        File.WriteAllText(Path.Combine(foreign, "2024", "cat.jpg"), "meow");
        var e = Assert.Throws<OutputRefusedException>(() => NnefArchive.Write(Small(), foreign, overwrite));
        Assert.Equal(OutputRefusal.NotOurs, e.Reason);
        Assert.Contains("2024/cat.jpg", e.Message);
        Assert.Equal("meow", File.ReadAllText(Path.Combine(foreign, "2024", "cat.jpg")));

        string empty = tmp.File("empty");
        Directory.CreateDirectory(empty);
        Assert.Contains("no graph.nnef", Assert.Throws<OutputRefusedException>(() => NnefArchive.Write(Small(), empty, overwrite)).Message);

        string model = tmp.File("model");
        NnefArchive.Write(Small(), model);
        Directory.CreateSymbolicLink(Path.Combine(model, "escape"), foreign);
        Assert.Contains("symbolic link", Assert.Throws<OutputRefusedException>(() => NnefArchive.Write(Small(), model, overwrite)).Message);
        Directory.Delete(Path.Combine(model, "escape"));
        NnefArchive.Write(Small(), model, overwrite);

        string emptyFile = tmp.File("e.nnef.tgz");
        File.WriteAllBytes(emptyFile, []);
        Assert.Throws<OutputRefusedException>(() => NnefArchive.Write(Small(), emptyFile, overwrite));
        Assert.Equal(0, new FileInfo(emptyFile).Length);

        Assert.Equal(["e.nnef.tgz", "empty", "model", "photos"], Directory.EnumerateFileSystemEntries(tmp.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task AFifoAtTheDestinationIsRefusedWithoutBlocking()
    {
        using var tmp = new TempDir();
        string fifo = tmp.File("o.nnef.tgz");
        using (Process p = Process.Start("mkfifo", fifo))
        {
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }

        Task write = Task.Run(() => NnefArchive.Write(Small(), fifo, new NnefWriteOptions { Overwrite = true }));
        Task first = await Task.WhenAny(write, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(first == write, "the writer blocked on a FIFO");
        await Assert.ThrowsAsync<OutputRefusedException>(() => write);
    }

    [Fact]
    public void CancellingAWriteRemovesItsTemporaryAndKeepsTheOldOutput()
    {
        using var tmp = new TempDir();
        foreach (string name in new[] { "m", "m.nnef.tgz" })
        {
            string dest = tmp.File(name);
            NnefArchive.Write(Small(), dest);
            var before = Directory.EnumerateFileSystemEntries(tmp.Path, "*", SearchOption.AllDirectories).Order().ToList();

            using var cts = new CancellationTokenSource();
            Graph g = Small();
            g.AddVariable("w2", "w2", TensorSource.Computed(DType.F32, Shape.Of(2), () =>
            {
                cts.Cancel();
                return Tensor.FromFloats(Shape.Of(2), [3, 4]);
            }));
            g.Nodes.Add(new Node("add", "z").With(Arg.Ref("y")).With(Arg.Ref("w2")));
            g.Outputs[0] = "z";
            Assert.ThrowsAny<OperationCanceledException>(() => NnefArchive.Write(g, dest, new NnefWriteOptions { Overwrite = true }, cts.Token));
            Assert.Equal(before, Directory.EnumerateFileSystemEntries(tmp.Path, "*", SearchOption.AllDirectories).Order().ToList());
        }
    }

    [Fact]
    public void AnOutputAssignedTwiceOrListedTwiceIsAnError()
    {
        const string Twice = "version 1.0;\ngraph g(x) -> (y)\n{\n    x = external(shape = [1]);\n    y = relu(x);\n    y = neg(x);\n}\n";
        Assert.Contains("assigned more than once (2 times)", Assert.Throws<InvalidInputFileException>(() => GraphText.Parse(Twice, "t.nnef")).Message);
        const string Listed = "version 1.0;\ngraph g(x) -> (y, y)\n{\n    x = external(shape = [1]);\n    y = relu(x);\n}\n";
        Assert.Contains("listed twice", Assert.Throws<InvalidInputFileException>(() => GraphText.Parse(Listed, "t.nnef")).Message);

        // Other identifiers may still be re-bound, as tract allows and torch_to_nnef's exports do.
        const string Rebound = "version 1.0;\ngraph g(x) -> (y)\n{\n    x = external(shape = [1]);\n    s = relu(x);\n    s = neg(s);\n    y = copy(s);\n}\n";
        Assert.Equal(4, GraphText.Parse(Rebound, "t.nnef").Nodes.Count);
    }
}
