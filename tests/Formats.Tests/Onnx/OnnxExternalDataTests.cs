using TorchToNnef.Errors;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.OnnxTestSupport;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Onnx;

/// <summary>
/// External data locations must stay inside the model's folder, and the ranges they declare must exist: escaping
/// paths (absolute, '..', symbolic links out), missing files and short files are refused naming the model and tensor.
/// </summary>
public class OnnxExternalDataTests
{
    private static readonly byte[] Sixteen = [.. Enumerable.Range(0, 16).Select(i => (byte)i)];

    [Theory]
    [InlineData("../outside.bin", "contains '..'")]
    [InlineData("sub/../../outside.bin", "contains '..'")]
    [InlineData("..\\outside.bin", "contains '..'")]
    [InlineData("/etc/hostname", "is an absolute path")]
    [InlineData("\\\\server\\share\\w.bin", "is an absolute path")]
    [InlineData("C:/w.bin", "is an absolute path")]
    [InlineData("", "is empty")]
    [InlineData("w\0.bin", "contains a NUL character")]
    [InlineData("missing.bin", "does not exist")]
    [InlineData("sub", "does not exist")]
    public void EscapingOrMissingLocationsAreRefused(string location, string fault)
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("sub"));
        File.WriteAllBytes(Path.Combine(dir.Path, "..", "outside.bin"), Sixteen);
        try
        {
            string path = Save(dir, [("location", location)]);
            AssertRefused(path, fault);
        }
        finally
        {
            File.Delete(Path.Combine(dir.Path, "..", "outside.bin"));
        }
    }

    [Fact]
    public void ASymlinkedFileLeadingOutIsRefused()
    {
        using var outside = new TempDir();
        using var dir = new TempDir();
        File.WriteAllBytes(outside.File("secret.bin"), Sixteen);
        File.CreateSymbolicLink(dir.File("w.bin"), outside.File("secret.bin"));
        AssertRefused(Save(dir, [("location", "w.bin")]), "leads outside the model's folder");
    }

    [Fact]
    public void ASymlinkedFolderLeadingOutIsRefused()
    {
        using var outside = new TempDir();
        using var dir = new TempDir();
        File.WriteAllBytes(outside.File("w.bin"), Sixteen);
        Directory.CreateSymbolicLink(dir.File("data"), outside.Path);
        AssertRefused(Save(dir, [("location", "data/w.bin")]), "leads outside the model's folder");
    }

    [Fact]
    public void ARelativeSymlinkClimbingOutIsRefused()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("model"));
        File.WriteAllBytes(dir.File("w.bin"), Sixteen);
        File.CreateSymbolicLink(Path.Combine(dir.Path, "model", "w.bin"), "../w.bin");
        var b = new OnnxModelBuilder();
        b.Graph.Initializer(Weight([("location", "w.bin")])).Node("Identity", ["w"], ["y"]).Output("y", OnnxDataType.Float, 4);
        AssertRefused(b.Save(Path.Combine(dir.Path, "model", "m.onnx")), "leads outside the model's folder");
    }

    [Fact]
    public void SymlinksThatStayInsideAreFollowed()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("blobs"));
        File.WriteAllBytes(Path.Combine(dir.Path, "blobs", "real.bin"), Sixteen);
        File.CreateSymbolicLink(dir.File("w.bin"), "blobs/real.bin");
        Directory.CreateSymbolicLink(dir.File("alias"), dir.File("blobs"));
        string path = Save(dir, [("location", "w.bin")], [("location", "alias/real.bin"), ("offset", "0"), ("length", "16")]);
        using OnnxModel model = OnnxModel.Load(path);
        using Tensor w = model.Graph.Initializers["w"].Open();
        using Tensor v = model.Graph.Initializers["v"].Open();
        Assert.Equal(Sixteen, w.Bytes.ToArray());
        Assert.Equal(Sixteen, v.Bytes.ToArray());
        Assert.Equal(model.Graph.Initializers["w"].ExternalPath, model.Graph.Initializers["v"].ExternalPath);
    }

    [Theory]
    [InlineData(null, "8", "external_data length 8 does not match the 16 bytes FLOAT dims [4] need")]
    [InlineData("8", null, "external data 'w.bin' declares bytes [8, 24) but the file holds only 16 bytes")]
    [InlineData("17", "16", "declares bytes [17, 33) but the file holds only 16 bytes")]
    [InlineData("9223372036854775807", null, "declares bytes [9223372036854775807,")]
    [InlineData("-4", null, "external_data offset '-4' is not a non-negative integer")]
    [InlineData("12a", null, "external_data offset '12a' is not a non-negative integer")]
    [InlineData(null, "+16", "external_data length '+16' is not a non-negative integer")]
    public void RangesBeyondTheFileOrInconsistentSizesAreRefused(string? offset, string? length, string fault)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("w.bin"), Sixteen);
        var entries = new List<(string, string)> { ("location", "w.bin") };
        if (offset is not null)
        {
            entries.Add(("offset", offset));
        }

        if (length is not null)
        {
            entries.Add(("length", length));
        }

        AssertRefused(Save(dir, [.. entries]), fault);
    }

    [Fact]
    public void EntriesWithoutLocationOrGivenTwiceAreRefused()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("w.bin"), Sixteen);
        AssertRefused(Save(dir, [("offset", "0")]), "external_data has no 'location'");
        AssertRefused(Save(dir, [("location", "w.bin"), ("location", "w.bin")]), "external_data gives 'location' twice");
    }

    [Fact]
    public void TheWholeFileIsUsedWhenNoOffsetOrLengthIsGivenAndChecksumsAreIgnored()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("w.bin"), Sixteen);
        using OnnxModel model = OnnxModel.Load(Save(dir, [("location", "./w.bin"), ("checksum", "0123")]));
        using Tensor w = model.Graph.Initializers["w"].Open();
        Assert.Equal(Sixteen, w.Bytes.ToArray());
    }

    private static OnnxTensorSpec Weight((string, string)[] entries, string name = "w") =>
        new(name, OnnxDataType.Float, [4], Sixteen) { ExternalData = entries };

    private static string Save(TempDir dir, (string, string)[] entries, (string, string)[]? second = null)
    {
        var b = new OnnxModelBuilder();
        b.Graph.Initializer(Weight(entries));
        if (second is not null)
        {
            b.Graph.Initializer(Weight(second, "v"));
        }

        b.Graph.Node("Identity", ["w"], ["y"]).Output("y", OnnxDataType.Float, 4);
        return b.Save(dir.File("m.onnx"));
    }

    private static void AssertRefused(string path, string fault)
    {
        var e = Assert.Throws<InvalidInputFileException>(() => OnnxModel.Load(path));
        Assert.Equal(path, e.FilePath);
        Assert.Equal("w", e.TensorName);
        Assert.Contains(fault, e.Message, StringComparison.Ordinal);
    }
}
