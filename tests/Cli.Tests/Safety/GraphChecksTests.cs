using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests.Safety;

/// <summary>
/// Graphs that are not well formed are errors when read (an output assigned twice) and are never written by
/// <c>compress</c> (undefined names, recursive fragments): nothing is left at the output.
/// </summary>
public class GraphChecksTests
{
    private const string OutputAssignedTwice = """
        version 1.0;
        graph network(input) -> (output)
        {
            input = external<scalar>(shape = [1, 4]);
            output = relu(input);
            output = neg(input);
        }
        """;

    private const string OutputListedTwice = """
        version 1.0;
        graph network(input) -> (output, output)
        {
            input = external<scalar>(shape = [1, 4]);
            output = relu(input);
        }
        """;

    private const string RecursiveFragments = """
        version 1.0;
        fragment ping(x: tensor<scalar>) -> (y: tensor<scalar>) { y = pong(x); }
        fragment pong(x: tensor<scalar>) -> (y: tensor<scalar>) { y = ping(x); }
        graph network(input) -> (output)
        {
            input = external<scalar>(shape = [1, 4]);
            output = ping(input);
        }
        """;

    private const string SelfRecursiveFragment = """
        version 1.0;
        fragment loop(x: tensor<scalar>) -> (y: tensor<scalar>) { z = relu(x); y = loop(z); }
        graph network(input) -> (output)
        {
            input = external<scalar>(shape = [1, 4]);
            output = loop(input);
        }
        """;

    private const string UndefinedName = """
        version 1.0;
        graph network(input) -> (output)
        {
            input = external<scalar>(shape = [1, 4]);
            output = add(input, ghost);
        }
        """;

    [Theory]
    [InlineData(OutputAssignedTwice, "assigned more than once")]
    [InlineData(OutputListedTwice, "listed twice")]
    [InlineData(RecursiveFragments, "recursive")]
    [InlineData(SelfRecursiveFragment, "recursive")]
    [InlineData(UndefinedName, "ghost")]
    public void CompressRefusesAMalformedGraphAndWritesNothing(string graphText, string why)
    {
        using var tmp = new TempDir();
        string input = tmp.File("in");
        Directory.CreateDirectory(input);
        File.WriteAllText(Path.Combine(input, "graph.nnef"), graphText);
        foreach (string output in new[] { tmp.File("out"), tmp.File("out.nnef.tgz") })
        {
            (int code, _, string stderr) = CliRunner.Run("compress", "-i", input, "-o", output, "-c", "min_max_q4_0");
            Assert.True(code == CliApp.InputError, stderr);
            Assert.Contains(why, stderr);
            Assert.Equal(["in"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName));
        }
    }

    [Theory]
    [InlineData(OutputAssignedTwice, "assigned more than once")]
    [InlineData(OutputListedTwice, "listed twice")]
    public void VerifyRefusesAnAmbiguousOutput(string graphText, string why)
    {
        using var tmp = new TempDir();
        string input = tmp.File("in");
        Directory.CreateDirectory(input);
        File.WriteAllText(Path.Combine(input, "graph.nnef"), graphText);
        string npz = tmp.File("x.npz");
        using (var t = SafetyFixture.Random(Tensors.DType.F32, new Tensors.Shape(1, 4), 1))
        {
            Formats.Numpy.NpzArchive.Write(npz, [("input", t)], compressed: false);
        }

        (int code, _, string stderr) = CliRunner.Run("verify", input, "--inputs", npz, "--out", tmp.File("o.npz"));
        Assert.True(code == CliApp.InputError, stderr);
        Assert.Contains(why, stderr);
        Assert.False(File.Exists(tmp.File("o.npz")));
    }
}
