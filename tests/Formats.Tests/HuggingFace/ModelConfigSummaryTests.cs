using TorchToNnef.Errors;
using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.HuggingFace;

public class ModelConfigSummaryTests
{
    [Fact]
    public void GoldenConfigsAreSummarized()
    {
        ModelConfigSummary llama32 = ModelConfigSummary.Read(Golden.File("llm", "llama32", "hf", "config.json"));
        Assert.Equal("llama", llama32.ModelType);
        Assert.Equal(["LlamaForCausalLM"], llama32.Architectures);
        Assert.Equal((64L, 2L, 4L, 2L, 512L, 16L), (llama32.HiddenSize, llama32.NumHiddenLayers, llama32.NumAttentionHeads, llama32.NumKeyValueHeads, llama32.VocabSize, llama32.HeadDim));
        Assert.True(llama32.TieWordEmbeddings);
        Assert.Equal(1e-5, llama32.RmsNormEps);
        Assert.Equal("float32", llama32.Dtype);
        Assert.Equal("llama3", llama32.Rope["rope_type"]);
        Assert.Equal("500000.0", llama32.Rope["rope_theta"]);
        Assert.Equal("32.0", llama32.Rope["factor"]);
    }

    [Fact]
    public void TransformersFourRopeScalingIsRead()
    {
        using var dir = new TempDir();
        string path = dir.File("config.json");
        File.WriteAllText(path, """{"rope_theta": 1e6, "rope_scaling": {"type": "linear", "factor": 2}, "torch_dtype": "bfloat16", "num_key_value_heads": null}""");
        ModelConfigSummary c = ModelConfigSummary.Read(path);
        Assert.Equal("1e6", c.Rope["rope_theta"]);
        Assert.Equal("linear", c.Rope["rope_type"]);
        Assert.Equal("2", c.Rope["factor"]);
        Assert.Equal("bfloat16", c.Dtype);
        Assert.Null(c.NumKeyValueHeads);
        Assert.Null(c.ModelType);
    }

    [Theory]
    [InlineData("""{"hidden_size": "64"}""", "config field 'hidden_size' must be number")]
    [InlineData("""{"hidden_size": 64.5}""", "config field 'hidden_size' must be an integer")]
    [InlineData("""{"tie_word_embeddings": 1}""", "config field 'tie_word_embeddings' must be true or false")]
    [InlineData("""{"architectures": [1]}""", "config field 'architectures' must be an array of strings")]
    [InlineData("""[1, 2]""", "config is not a JSON object")]
    [InlineData("""{"a": """, "config is not valid JSON")]
    public void WrongTypesAreReportedWithTheField(string json, string fault)
    {
        using var dir = new TempDir();
        string path = dir.File("config.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidInputFileException>(() => ModelConfigSummary.Read(path));
        Assert.StartsWith($"{path}: {fault}", e.Message, StringComparison.Ordinal);
    }
}
