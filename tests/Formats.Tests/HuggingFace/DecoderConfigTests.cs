using TorchToNnef.Errors;
using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.HuggingFace;

public class DecoderConfigTests
{
    private const string Llama = """
        "model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512, "max_position_embeddings": 256
        """;

    [Theory]
    [InlineData("llama", "llama", false)]
    [InlineData("llama_tied", "llama", true)]
    [InlineData("qwen2", "qwen2", false)]
    [InlineData("qwen3", "qwen3", false)]
    [InlineData("phi3", "phi3", false)]
    [InlineData("llama32", "llama", true)]
    public void GoldenConfigsResolve(string model, string type, bool tied)
    {
        DecoderConfig c = DecoderConfig.Read(Golden.File("llm", model, "hf", "config.json"));
        Assert.Equal(type, c.ModelType);
        Assert.Equal((64, 128, 2, 4, 2, 16, 512, 256L), (c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, c.VocabSize, c.MaxPositionEmbeddings));
        Assert.Equal(tied, c.TieWordEmbeddings);
        Assert.Equal(1e-5, c.RmsNormEps);
        Assert.Equal(2, c.QueriesPerKeyValue);
        Assert.All(c.AttentionWindows, w => Assert.Null(w));
        Assert.Equal(model == "llama32" ? RopeScaling.Llama3 : RopeScaling.None, c.Rope.Scaling);
        Assert.Equal(model == "llama32" ? 500000 : 10000, c.Rope.Theta);
    }

    [Fact]
    public void Llama32RopeParametersAreRead()
    {
        RopeSettings r = DecoderConfig.Read(Golden.File("llm", "llama32", "hf", "config.json")).Rope;
        Assert.Equal(new RopeSettings { Theta = 500000, Scaling = RopeScaling.Llama3, Factor = 32, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192 }, r);
    }

    [Fact]
    public void TransformersFourRopeScalingMeansTheSameAsRopeParameters()
    {
        using var dir = new TempDir();
        DecoderConfig four = Write(dir, "4.json", Llama + """
            , "rope_theta": 500000.0,
              "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"}
            """);
        DecoderConfig five = DecoderConfig.Read(Golden.File("llm", "llama32", "hf", "config.json"));
        Assert.Equal(five.Rope, four.Rope);

        // The older spelling "type" and a linear factor.
        DecoderConfig linear = Write(dir, "l.json", Llama + """, "rope_theta": 1e6, "rope_scaling": {"type": "linear", "factor": 2}""");
        Assert.Equal(new RopeSettings { Theta = 1e6, Scaling = RopeScaling.Linear, Factor = 2 }, linear.Rope);

        // No rope settings at all: theta 10000, unscaled; rope_scaling null likewise.
        Assert.Equal(new RopeSettings { Theta = 10000 }, Write(dir, "n.json", Llama).Rope);
        Assert.Equal(new RopeSettings { Theta = 20000 }, Write(dir, "z.json", Llama + """, "rope_theta": 20000, "rope_scaling": null""").Rope);
    }

    [Fact]
    public void HeadDimDefaultsToHiddenOverHeadsAndMayDiffer()
    {
        using var dir = new TempDir();
        Assert.Equal(16, Write(dir, "a.json", Llama).HeadDim);
        Assert.Equal(24, Write(dir, "b.json", Llama + """, "head_dim": 24""").HeadDim);
        Assert.Equal(4, Write(dir, "c.json", Llama.Replace("\"num_key_value_heads\": 2", "\"num_key_value_heads\": null", StringComparison.Ordinal)).NumKeyValueHeads);
    }

    [Fact]
    public void SlidingWindowsResolvePerLayer()
    {
        using var dir = new TempDir();
        Assert.All(Write(dir, "mistral.json", Llama + """, "sliding_window": 4096""").AttentionWindows, w => Assert.Equal(4096, w));
        Assert.All(Write(dir, "qwen2.json", Llama + """, "sliding_window": 4096, "use_sliding_window": false""").AttentionWindows, w => Assert.Null(w));
        Assert.Equal([null, 8L], Write(dir, "types.json", Llama + """, "sliding_window": 8, "layer_types": ["full_attention", "sliding_attention"]""").AttentionWindows);
    }

    [Theory]
    [InlineData(", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4, \"beta_fast\": 32}", "type 'yarn' is not supported")]
    [InlineData(", \"rope_scaling\": {\"type\": \"longrope\", \"long_factor\": [1.0], \"short_factor\": [1.0]}", "rope_scaling type 'longrope' is not supported")]
    [InlineData(", \"rope_parameters\": {\"rope_type\": \"longrope\", \"rope_theta\": 1e4}", "type 'longrope' is not supported")]
    [InlineData(", \"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 2}", "type 'dynamic' is not supported")]
    [InlineData(", \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 1e4, \"mrope_section\": [1, 2]}", "'mrope_section'")]
    [InlineData(", \"layer_types\": [\"full_attention\", \"chunked_attention\"]", "layer type 'chunked_attention'")]
    public void UnimplementedSettingsAreUnsupported(string extra, string message)
    {
        using var dir = new TempDir();
        var e = Assert.Throws<UnsupportedFeatureException>(() => Write(dir, "c.json", Llama + extra));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Contains("c.json", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{}", "no 'model_type'")]
    [InlineData("[1]", "not valid JSON")]
    [InlineData("{\"model_type\": \"llama\", \"hidden_size\": \"64\"}", "$.hidden_size")]
    [InlineData("{\"model_type\": \"llama\"}", "no 'hidden_size'")]
    [InlineData("{" + Llama + ", \"num_key_value_heads\": 3}", "not a multiple of num_key_value_heads (3)")]
    [InlineData("{" + Llama + ", \"hidden_size\": 66}", "no 'head_dim', and hidden_size (66)")]
    [InlineData("{" + Llama + ", \"head_dim\": 15}", "head_dim 15 is odd")]
    [InlineData("{" + Llama + ", \"vocab_size\": 0}", "'vocab_size' is 0")]
    [InlineData("{" + Llama + ", \"hidden_size\": 1.5}", "$.hidden_size")]
    [InlineData("{" + Llama + ", \"rms_norm_eps\": -1}", "rms_norm_eps -1")]
    [InlineData("{" + Llama + ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8}}", "needs a positive 'low_freq_factor'")]
    [InlineData("{" + Llama + ", \"rope_scaling\": {\"rope_type\": \"linear\"}}", "needs a positive 'factor'")]
    [InlineData("{" + Llama + ", \"layer_types\": [\"full_attention\"]}", "layer_types lists 1 layers")]
    [InlineData("{" + Llama + ", \"partial_rotary_factor\": 1.5}", "partial_rotary_factor 1.5")]
    public void MalformedConfigsAreClearErrors(string json, string message)
    {
        using var dir = new TempDir();
        string path = dir.File("config.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidInputFileException>(() => DecoderConfig.Read(path));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
    }

    private static DecoderConfig Write(TempDir dir, string name, string body)
    {
        string path = dir.File(name);
        File.WriteAllText(path, "{" + body + "}");
        return DecoderConfig.Read(path);
    }
}
