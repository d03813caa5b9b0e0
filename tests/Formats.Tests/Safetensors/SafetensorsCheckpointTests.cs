using TorchToNnef.Errors;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;
using static TorchToNnef.Formats.Tests.Safetensors.SafetensorsBytes;

namespace TorchToNnef.Formats.Tests.Safetensors;

public class SafetensorsCheckpointTests
{
    private const string Shard1 = "model-00001-of-00002.safetensors";
    private const string Shard2 = "model-00002-of-00002.safetensors";

    [Fact]
    public void ShardedDirectoryMapsEveryTensorToItsShard()
    {
        using var dir = new TempDir();
        WriteShard(dir, Shard1, ("a", 4), ("b", 8));
        WriteShard(dir, Shard2, ("c", 2));
        WriteIndex(dir, ("a", Shard1), ("b", Shard1), ("c", Shard2));

        using SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.Open(dir.Path);
        Assert.Equal(["a", "b", "c"], ckpt.Entries.Select(e => e.Name));
        Assert.Equal(dir.File(SafetensorsIndex.FileName), ckpt.IndexPath);
        Assert.Equal(2, ckpt.Shards.Count);
        Assert.Equal(dir.File(Shard2), ckpt.ShardOf("c").Path);
        using Tensor c = ckpt.GetTensor("c");
        Assert.Equal([(byte)'c', (byte)'c'], c.Bytes.ToArray());
        Assert.True(ckpt.TryGetEntry("b", out SafetensorsEntry b));
        Assert.Equal(8, b.ByteLength);
        var e = Assert.Throws<InvalidInputFileException>(() => ckpt.GetTensor("zz"));
        Assert.Contains("tensor 'zz': no such tensor in the checkpoint", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DirectoryWithOneFileAndSingleFileBothOpen()
    {
        using var dir = new TempDir();
        WriteShard(dir, "model.safetensors", ("w", 3));
        using (SafetensorsCheckpoint fromDir = SafetensorsCheckpoint.Open(dir.Path))
        {
            Assert.Null(fromDir.IndexPath);
            Assert.Equal("w", Assert.Single(fromDir.Entries).Name);
        }

        using SafetensorsCheckpoint fromFile = SafetensorsCheckpoint.Open(dir.File("model.safetensors"));
        Assert.Equal(dir.File("model.safetensors"), fromFile.ShardOf("w").Path);
    }

    [Fact]
    public void MissingShardIsReported()
    {
        using var dir = new TempDir();
        WriteShard(dir, Shard1, ("a", 4));
        WriteIndex(dir, ("a", Shard1), ("c", Shard2));
        AssertFault(dir.Path, $"shard '{Shard2}' listed in the index does not exist", "c");
    }

    [Fact]
    public void TensorListedButAbsentFromItsShardIsReported()
    {
        using var dir = new TempDir();
        WriteShard(dir, Shard1, ("a", 4));
        WriteShard(dir, Shard2, ("c", 2));
        WriteIndex(dir, ("a", Shard1), ("b", Shard1), ("c", Shard2));
        AssertFault(dir.Path, $"tensor listed in the index is missing from shard '{Shard1}'", "b");
    }

    [Fact]
    public void TensorInAShardButNotInTheIndexIsReported()
    {
        using var dir = new TempDir();
        WriteShard(dir, Shard1, ("a", 4), ("extra", 1));
        WriteIndex(dir, ("a", Shard1));
        AssertFault(dir.Path, $"tensor is not listed in {SafetensorsIndex.FileName}", "extra");
    }

    [Fact]
    public void TensorInTwoShardsIsReported()
    {
        using var dir = new TempDir();
        WriteShard(dir, Shard1, ("a", 4));
        WriteShard(dir, Shard2, ("a", 4), ("c", 1));
        WriteIndex(dir, ("a", Shard1), ("c", Shard2));
        AssertFault(dir.Path, $"tensor also present in shard '{Shard1}'", "a");
    }

    [Fact]
    public void TensorInTheWrongShardIsReported()
    {
        using var dir = new TempDir();
        WriteShard(dir, Shard1, ("a", 4));
        WriteShard(dir, Shard2, ("c", 1));
        WriteIndex(dir, ("a", Shard2), ("c", Shard1));
        AssertFault(dir.Path, $"tensor found in shard '{Shard1}' but the index puts it in '{Shard2}'", "a");
    }

    [Theory]
    [InlineData("../outside.safetensors")]
    [InlineData("/etc/passwd")]
    [InlineData("..")]
    [InlineData("")]
    public void ShardNamesThatAreNotPlainFileNamesAreRejected(string shard)
    {
        using var dir = new TempDir();
        WriteIndex(dir, ("a", shard));
        AssertFault(dir.Path, $"shard name '{shard}' is not a plain file name", "a");
    }

    [Theory]
    [InlineData("{\"metadata\":{}}", "index has no 'weight_map'", null)]
    [InlineData("{\"weight_map\":[]}", "'weight_map' must be an object", null)]
    [InlineData("{\"weight_map\":{\"a\":1}}", "shard name must be a string", "a")]
    [InlineData("{\"weight_map\":{\"a\":\"x\",\"a\":\"x\"}}", "tensor listed twice in 'weight_map'", "a")]
    [InlineData("{\"weight_map\":{}} trailing", "index is not valid JSON", null)]
    [InlineData("[1]", "index is not a JSON object", null)]
    [InlineData("{\"weight_map\":{}}\u0000", "content after the root object", null)]
    public void MalformedIndexIsReported(string json, string fault, string? tensor)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(SafetensorsIndex.FileName), json);
        AssertFault(dir.Path, fault, tensor);
    }

    [Fact]
    public void SeveralFilesWithoutIndexAreAmbiguous()
    {
        using var dir = new TempDir();
        WriteShard(dir, Shard1, ("a", 1));
        WriteShard(dir, Shard2, ("b", 1));
        AssertFault(dir.Path, "directory holds 2 .safetensors files and no model.safetensors.index.json", null);
    }

    [Fact]
    public void EmptyOrMissingDirectoryIsReported()
    {
        using var dir = new TempDir();
        AssertFault(dir.Path, "directory holds no .safetensors file", null);
        AssertFault(dir.File("nope"), "no such file or directory", null);
    }

    private static void AssertFault(string path, string fault, string? tensor)
    {
        var e = Assert.Throws<InvalidInputFileException>(() => SafetensorsCheckpoint.Open(path));
        Assert.True(e.Message.Contains(fault, StringComparison.Ordinal), $"expected '{fault}' in: {e.Message}");
        Assert.NotNull(e.FilePath);
        Assert.Equal(tensor, e.TensorName);
    }

    // Each tensor is U8 of the given length filled with its name's first character.
    private static void WriteShard(TempDir dir, string name, params (string Tensor, int Length)[] tensors)
    {
        var header = new List<string>();
        var data = new List<byte>();
        foreach ((string tensor, int length) in tensors)
        {
            header.Add(Entry(tensor, "U8", $"[{length}]", data.Count, data.Count + length));
            data.AddRange(Enumerable.Repeat((byte)tensor[0], length));
        }

        File.WriteAllBytes(dir.File(name), Build("{" + string.Join(",", header) + "}", data.ToArray()));
    }

    private static void WriteIndex(TempDir dir, params (string Tensor, string Shard)[] map) =>
        File.WriteAllText(
            dir.File(SafetensorsIndex.FileName),
            "{\"metadata\":{\"total_size\":15},\"weight_map\":{" +
            string.Join(",", map.Select(m => $"\"{m.Tensor}\":\"{m.Shard}\"")) + "}}");
}
