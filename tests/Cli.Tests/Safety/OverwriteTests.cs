using System.Formats.Tar;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests.Safety;

/// <summary>
/// <c>--overwrite</c> replaces only what is recognisably an output of the same kind (an NNEF archive file, a folder
/// holding nothing but an NNEF model, an npz of arrays, a tensor <c>.dat</c>); anything else is refused and kept.
/// </summary>
public class OverwriteTests
{
    private static string SmallInput(TempDir tmp)
    {
        string input = tmp.File("in.nnef.tgz");
        SafetyFixture.WriteSmallModel(input);
        return input;
    }

    [Fact]
    public void CompressOverwriteRefusesAFolderWithForeignFiles()
    {
        using var tmp = new TempDir();
        string input = SmallInput(tmp);
        string precious = tmp.File("precious");
        Directory.CreateDirectory(Path.Combine(precious, "sub"));
        File.WriteAllText(Path.Combine(precious, "notes.txt"), "mine");
        File.WriteAllText(Path.Combine(precious, "sub", "thesis.tex"), "mine too");
        SortedDictionary<string, string> before = SafetyFixture.Snapshot(tmp.Path);

        (int code, _, string stderr) = CliRunner.Run("compress", "-i", input, "-o", precious, "-c", "min_max_q4_0", "--overwrite");
        Assert.Equal(2, code);
        Assert.Contains("not replaced", stderr);
        Assert.Contains("notes.txt", stderr);
        SafetyFixture.AssertUnchanged(before, tmp.Path, stderr);
    }

    [Fact]
    public void CompressOverwriteRefusesAnNnefFolderWithAnExtraFile()
    {
        using var tmp = new TempDir();
        string input = SmallInput(tmp);
        string output = tmp.File("out");
        Assert.Equal(0, CliRunner.Run("compress", "-i", input, "-o", output, "-c", "min_max_q4_0").Code);
        File.WriteAllText(Path.Combine(output, "README.md"), "hand-written notes");
        SortedDictionary<string, string> before = SafetyFixture.Snapshot(tmp.Path);

        (int code, _, string stderr) = CliRunner.Run("compress", "-i", input, "-o", output, "-c", "min_max_q4_0", "--overwrite");
        Assert.Equal(2, code);
        Assert.Contains("README.md", stderr);
        SafetyFixture.AssertUnchanged(before, tmp.Path, stderr);
    }

    [Fact]
    public void CompressOverwriteReplacesItsOwnEarlierOutputs()
    {
        using var tmp = new TempDir();
        string input = SmallInput(tmp);
        foreach (string name in new[] { "out", "out.nnef.tgz", "out.tar" })
        {
            string output = tmp.File(name);
            Assert.Equal(0, CliRunner.Run("compress", "-i", input, "-o", output, "-c", "min_max_q4_0", "--tract-version", "0.21.10").Code);
            (int code, _, string stderr) = CliRunner.Run("compress", "-i", input, "-o", output, "-c", "min_max_q4_0", "--overwrite");
            Assert.True(code == 0, stderr);
            Assert.Equal(DType.Q40, NnefArchive.Read(output).Variables["w0"].DType);
        }

        Assert.Equal(["in.nnef.tgz", "out", "out.nnef.tgz", "out.tar"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void CompressOverwriteRefusesAFileThatIsNotAnNnefArchive()
    {
        using var tmp = new TempDir();
        string input = SmallInput(tmp);
        File.WriteAllText(tmp.File("o.nnef.tgz"), "keep me");

        // A real tar archive, but of something else.
        using (FileStream fs = File.Create(tmp.File("other.tar")))
        using (var tar = new TarWriter(fs))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "photos/cat.jpg") { DataStream = new MemoryStream([1, 2, 3]) };
            tar.WriteEntry(entry);
        }

        SortedDictionary<string, string> before = SafetyFixture.Snapshot(tmp.Path);
        foreach (string name in new[] { "o.nnef.tgz", "other.tar" })
        {
            (int code, _, string stderr) = CliRunner.Run("compress", "-i", input, "-o", tmp.File(name), "-c", "min_max_q4_0", "--overwrite");
            Assert.Equal(2, code);
            Assert.Contains("not replaced", stderr);
        }

        SafetyFixture.AssertUnchanged(before, tmp.Path, "foreign files");
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("./")]
    public void CompressToTheCurrentFolderOrItsParentIsRefused(string output)
    {
        using var tmp = new TempDir();
        string work = tmp.File("work");
        Directory.CreateDirectory(work);
        SafetyFixture.WriteSmallModel(Path.Combine(work, "in.nnef.tgz"));
        File.WriteAllText(Path.Combine(work, "notes.txt"), "mine");
        SortedDictionary<string, string> before = SafetyFixture.Snapshot(tmp.Path);
        foreach (string[] extra in new[] { Array.Empty<string>(), ["--overwrite"] })
        {
            (int code, _, string stderr) = SafetyFixture.RunChild(work, ["compress", "-i", "in.nnef.tgz", "-o", output, "-c", "min_max_q4_0", .. extra]);
            Assert.True(code == 2, stderr);
            SafetyFixture.AssertUnchanged(before, tmp.Path, stderr);
        }
    }

    [Fact]
    public void CompressOfAnNnefFolderToTheCurrentFolderIsRefusedEvenWhenItIsAnOutput()
    {
        // The current folder is itself an earlier output: replacing it would pull the folder from under the shell.
        using var tmp = new TempDir();
        string input = SmallInput(tmp);
        string output = tmp.File("out");
        Assert.Equal(0, CliRunner.Run("compress", "-i", input, "-o", output, "-c", "min_max_q4_0").Code);
        SortedDictionary<string, string> before = SafetyFixture.Snapshot(tmp.Path);
        (int code, _, string stderr) = SafetyFixture.RunChild(output, "compress", "-i", input, "-o", ".", "-c", "min_max_q4_0", "--overwrite");
        Assert.Equal(2, code);
        Assert.Contains("current folder", stderr);
        SafetyFixture.AssertUnchanged(before, tmp.Path, stderr);
    }

    [Fact]
    public void VerifyOutRefusesAnExistingFileWithoutOverwrite()
    {
        using var tmp = new TempDir();
        string model = Golden.File("export_cnn_f32", "model.nnef.tgz");
        string input = "input=" + Golden.File("export_cnn_f32", "input_input.npy");
        string outPath = tmp.File("result.npz");
        File.WriteAllText(outPath, "keep me");
        (int code, _, string stderr) = CliRunner.Run("verify", model, "--input", input, "--out", outPath);
        Assert.Equal(2, code);
        Assert.Contains("--overwrite", stderr);
        Assert.Equal("keep me", File.ReadAllText(outPath));

        // With --overwrite a foreign file is still not an npz of arrays.
        (code, _, stderr) = CliRunner.Run("verify", model, "--input", input, "--out", outPath, "--overwrite");
        Assert.Equal(2, code);
        Assert.Equal("keep me", File.ReadAllText(outPath));

        // An npz written by an earlier run is replaced.
        File.Delete(outPath);
        Assert.Equal(0, CliRunner.Run("verify", model, "--input", input, "--out", outPath).Code);
        (code, _, stderr) = CliRunner.Run("verify", model, "--input", input, "--out", outPath, "--overwrite");
        Assert.True(code == 0, stderr);
        Assert.Single(Directory.GetFileSystemEntries(tmp.Path));
    }

    [Fact]
    public void VerifyOutNeverWritesOverAnInputOfTheSameRun()
    {
        using var tmp = new TempDir();
        string model = tmp.File("model.nnef.tgz");
        string io = tmp.File("io.npz");
        File.Copy(Golden.File("export_cnn_f32", "model.nnef.tgz"), model);
        WriteInputBundle(io);
        SortedDictionary<string, string> before = SafetyFixture.Snapshot(tmp.Path);
        foreach (string target in new[] { io, model })
        {
            (int code, _, string stderr) = CliRunner.Run("verify", model, "--inputs", io, "--out", target, "--overwrite");
            Assert.Equal(2, code);
            Assert.Contains("input", stderr);
        }

        SafetyFixture.AssertUnchanged(before, tmp.Path, "inputs");
    }

    [Fact]
    public void QuantizeOverwriteReplacesOnlyTensorFiles()
    {
        using var tmp = new TempDir();
        string input = tmp.File("m.safetensors");
        SafetyFixture.WriteSafetensors(input, "w");
        string output = tmp.File("out");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "w.dat"), "not a tensor");
        SortedDictionary<string, string> before = SafetyFixture.Snapshot(tmp.Path);
        (int code, _, string stderr) = CliRunner.Run("quantize", input, "-o", output, "--overwrite");
        Assert.Equal(2, code);
        Assert.Contains("w.dat", stderr);
        SafetyFixture.AssertUnchanged(before, tmp.Path, stderr);
    }

    internal static void WriteInputBundle(string path)
    {
        using Tensor input = Formats.Numpy.NpyFile.Read(Golden.File("export_cnn_f32", "input_input.npy"));
        Formats.Numpy.NpzArchive.Write(path, [("input", input)], compressed: false);
    }
}
