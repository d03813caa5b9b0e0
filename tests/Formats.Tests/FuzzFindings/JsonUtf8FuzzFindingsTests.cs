using System.Text;
using TorchToNnef.Errors;
using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.FuzzFindings;

/// <summary>
/// Found by the <c>config-summary</c> and <c>safetensors-index</c> fuzz targets: a JSON string holding bytes that are
/// not UTF-8 passed the parser (System.Text.Json checks strings only when they are read) and then escaped as
/// InvalidOperationException from wherever the string was read. Every JSON reader must refuse such a file as invalid.
/// </summary>
public class JsonUtf8FuzzFindingsTests
{
    private static byte[] Json(string before, byte[] bad, string after) =>
        [.. Encoding.UTF8.GetBytes(before), .. bad, .. Encoding.UTF8.GetBytes(after)];

    public static TheoryData<byte[]> BadConfigs => new()
    {
        Json("{\"model_type\": \"", [0xff], "\"}"),
        Json("{\"architectures\": [\"Llama", [0xc0, 0x80], "\"]}"),
        Json("{\"rope_scaling\": {\"type\": \"", [0xfe], "\"}}"),
        Json("{\"rope_scaling\": {\"", [0xed, 0xa0, 0x80], "\": 1}}"),
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void ConfigSummaryRefusesInvalidUtf8(byte[] json)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("config.json"), json);
        var e = Assert.Throws<InvalidInputFileException>(() => ModelConfigSummary.Read(dir.File("config.json")));
        Assert.Contains("not valid UTF-8", e.Message);
    }

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void DecoderConfigRefusesInvalidUtf8(byte[] json)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("config.json"), json);
        var e = Assert.Throws<InvalidInputFileException>(() => DecoderConfig.Read(dir.File("config.json")));
        Assert.Contains("not valid UTF-8", e.Message);
    }

    [Theory]
    [InlineData("{\"weight_map\": {\"a", "\": \"model-00001-of-00002.safetensors\"}}")]
    [InlineData("{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors", "\"}}")]
    public void SafetensorsIndexRefusesInvalidUtf8(string before, string after)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File(SafetensorsIndex.FileName), Json(before, [0xff], after));
        var e = Assert.Throws<InvalidInputFileException>(() => SafetensorsIndex.Read(dir.File(SafetensorsIndex.FileName)));
        Assert.Contains("not valid UTF-8", e.Message);
    }

    // The same bytes in an existing tensor-files.json: `quantize --overwrite` asks whether the file is ours, and the
    // question escaped as InvalidOperationException instead of an answer ("no: it is not JSON").
    [Theory]
    [InlineData("{\"format\": \"t2n.tensor-files/1", "\"}")]
    [InlineData("{\"format\": \"", "\"}")]
    public void TensorFileIndexWithInvalidUtf8IsNotRecognisedAsOurs(string before, string after)
    {
        using var dir = new TempDir();
        string path = dir.File(TensorFileIndex.FileName);
        File.WriteAllBytes(path, Json(before, [0xff], after));

        Assert.Equal("it is not JSON", TensorFileIndex.OutputKind.WhyNotOfThisKind(path));
        Assert.Throws<InvalidInputFileException>(() => TensorFileIndex.Read(path));
    }
}
