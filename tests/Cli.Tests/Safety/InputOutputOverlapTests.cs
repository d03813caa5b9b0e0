using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests.Safety;

/// <summary>
/// An output is never an input of the same run, never inside an input folder, and a replaced output never holds an
/// input — however the paths are spelled (relative, with <c>..</c>, through symbolic links).
/// </summary>
public class InputOutputOverlapTests
{
    private static (TempDir Tmp, string Input) ModelFolder()
    {
        var tmp = new TempDir();
        string input = tmp.File("model");
        SafetyFixture.WriteSmallModel(input);
        return (tmp, input);
    }

    [Theory]
    [InlineData("sub")]
    [InlineData("sub.nnef.tgz")]
    [InlineData("deeper/sub")]
    [InlineData("../model/sub")]
    [InlineData("./sub/../sub2")]
    public void CompressIntoTheInputFolderIsRefused(string relative)
    {
        (TempDir tmp, string input) = ModelFolder();
        using (tmp)
        {
            SortedDictionary<string, string> before = SafetyFixture.Snapshot(tmp.Path);
            string output = input + "/" + relative;
            (int code, _, string stderr) = CliRunner.Run("compress", "-i", input, "-o", output, "-c", "min_max_q4_0");
            Assert.True(code == 2, stderr);
            Assert.Contains("inside the input", stderr);
            SafetyFixture.AssertUnchanged(before, tmp.Path, stderr);
        }
    }

    [Fact]
    public void CompressThroughASymbolicLinkToTheInputIsRefused()
    {
        (TempDir tmp, string input) = ModelFolder();
        using (tmp)
        {
            string link = tmp.File("link");
            Directory.CreateSymbolicLink(link, input);
            SortedDictionary<string, string> before = SafetyFixture.Snapshot(tmp.Path);
            foreach ((string i, string o) in new[] { (input, link), (link, input), (input, link + "/sub"), (link, input + "/sub"), (input, link + "/../model") })
            {
                (int code, _, string stderr) = CliRunner.Run("compress", "-i", i, "-o", o, "-c", "min_max_q4_0", "--overwrite");
                Assert.True(code == 2, $"-i {i} -o {o}: {stderr}");
                SafetyFixture.AssertUnchanged(before, tmp.Path, stderr);
            }
        }
    }

    [Fact]
    public void AReplacedOutputMustNotHoldTheInput()
    {
        using var tmp = new TempDir();
        string output = tmp.File("out");
        string input = Path.Combine(output, "model");
        SafetyFixture.WriteSmallModel(input);
        SortedDictionary<string, string> before = SafetyFixture.Snapshot(tmp.Path);
        (int code, _, string stderr) = CliRunner.Run("compress", "-i", input, "-o", output, "-c", "min_max_q4_0", "--overwrite");
        Assert.Equal(2, code);
        Assert.Contains("holds the input", stderr);
        SafetyFixture.AssertUnchanged(before, tmp.Path, stderr);
    }

    [Fact]
    public void RelativePathsAreResolvedBeforeComparing()
    {
        (TempDir tmp, string input) = ModelFolder();
        using (tmp)
        {
            SortedDictionary<string, string> before = SafetyFixture.Snapshot(tmp.Path);
            (int code, _, string stderr) = SafetyFixture.RunChild(input, "compress", "-i", ".", "-o", "sub", "-c", "min_max_q4_0");
            Assert.True(code == 2, stderr);
            (code, _, stderr) = SafetyFixture.RunChild(tmp.Path, "compress", "-i", "model/.", "-o", "./model/../model/x.tar", "-c", "min_max_q4_0");
            Assert.True(code == 2, stderr);
            SafetyFixture.AssertUnchanged(before, tmp.Path, stderr);

            // Next to the input is fine.
            (code, _, stderr) = SafetyFixture.RunChild(input, "compress", "-i", ".", "-o", "../sibling", "-c", "min_max_q4_0");
            Assert.True(code == 0, stderr);
            Assert.True(File.Exists(tmp.File("sibling/graph.nnef")));
        }
    }

    [Fact]
    public void VerifyOutInsideTheModelFolderIsRefused()
    {
        (TempDir tmp, string input) = ModelFolder();
        using (tmp)
        {
            string npz = tmp.File("in.npz");
            using (var t = SafetyFixture.Random(Tensors.DType.F32, new Tensors.Shape(1, 32), 7))
            {
                Formats.Numpy.NpzArchive.Write(npz, [("input", t)], compressed: false);
            }

            SortedDictionary<string, string> before = SafetyFixture.Snapshot(tmp.Path);
            (int code, _, string stderr) = CliRunner.Run("verify", input, "--inputs", npz, "--out", Path.Combine(input, "outputs.npz"));
            Assert.Equal(2, code);
            Assert.Contains("inside the input", stderr);
            SafetyFixture.AssertUnchanged(before, tmp.Path, stderr);
        }
    }

    [Fact]
    public void QuantizeNeverWritesOverItsInputEvenThroughALink()
    {
        using var tmp = new TempDir();
        string input = tmp.File("w.dat");
        SafetyFixture.WriteSafetensors(input, "w");
        Directory.CreateDirectory(tmp.File("out"));
        File.CreateSymbolicLink(tmp.File("out/w.dat"), input);
        SortedDictionary<string, string> before = SafetyFixture.Snapshot(tmp.Path);
        foreach (string[] extra in new[] { Array.Empty<string>(), ["--overwrite"] })
        {
            (int code, _, string stderr) = CliRunner.Run(["quantize", input, "-o", tmp.Path, .. extra]);
            Assert.Equal(2, code);
            (code, _, stderr) = CliRunner.Run(["quantize", input, "-o", tmp.File("out"), .. extra]);
            Assert.Equal(2, code);
            SafetyFixture.AssertUnchanged(before, tmp.Path, stderr);
        }
    }
}
