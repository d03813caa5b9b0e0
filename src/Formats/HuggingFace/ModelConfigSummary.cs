using System.Globalization;
using System.Text.Json;
using TorchToNnef.Errors;
using TorchToNnef.IO;

namespace TorchToNnef.Formats.HuggingFace;

/// <summary>
/// The facts of a Hugging Face <c>config.json</c> that describe a decoder's shape: architecture, sizes, heads,
/// vocabulary, tied embeddings and rotary settings. Every field is optional (configs vary by model family).
/// Rotary settings are collected from <c>rope_theta</c>, <c>rope_scaling</c> (transformers 4) and
/// <c>rope_parameters</c> (transformers 5) into <see cref="Rope"/>.
/// </summary>
public sealed record ModelConfigSummary
{
    // Real configs are a few KB; anything far larger is not a config.
    private const long MaxConfigBytes = 16L << 20;

    /// <summary><c>model_type</c> (e.g. <c>llama</c>).</summary>
    public string? ModelType { get; init; }

    /// <summary><c>architectures</c> (e.g. <c>LlamaForCausalLM</c>).</summary>
    public IReadOnlyList<string> Architectures { get; init; } = [];

    /// <summary><c>hidden_size</c>.</summary>
    public long? HiddenSize { get; init; }

    /// <summary><c>intermediate_size</c>.</summary>
    public long? IntermediateSize { get; init; }

    /// <summary><c>num_hidden_layers</c>.</summary>
    public long? NumHiddenLayers { get; init; }

    /// <summary><c>num_attention_heads</c>.</summary>
    public long? NumAttentionHeads { get; init; }

    /// <summary><c>num_key_value_heads</c> (absent means as many as attention heads).</summary>
    public long? NumKeyValueHeads { get; init; }

    /// <summary><c>head_dim</c>.</summary>
    public long? HeadDim { get; init; }

    /// <summary><c>vocab_size</c>.</summary>
    public long? VocabSize { get; init; }

    /// <summary><c>max_position_embeddings</c>.</summary>
    public long? MaxPositionEmbeddings { get; init; }

    /// <summary><c>tie_word_embeddings</c>.</summary>
    public bool? TieWordEmbeddings { get; init; }

    /// <summary><c>rms_norm_eps</c>.</summary>
    public double? RmsNormEps { get; init; }

    /// <summary><c>torch_dtype</c> (transformers 4) or <c>dtype</c> (transformers 5).</summary>
    public string? Dtype { get; init; }

    /// <summary>Rotary settings as written (<c>rope_theta</c>, <c>rope_type</c>, <c>factor</c>, ...), values as JSON text.</summary>
    public IReadOnlyDictionary<string, string> Rope { get; init; } = new Dictionary<string, string>();

    /// <summary>Reads and summarizes a <c>config.json</c>.</summary>
    /// <exception cref="InvalidInputFileException">Not a JSON object, or a known field has the wrong type.</exception>
    public static ModelConfigSummary Read(string path)
    {
        byte[] bytes = InputFile.ReadAllBytes(path, MaxConfigBytes, "config");
        JsonText.RequireUtf8(bytes, path, "config");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            throw new InvalidInputFileException(path, null, $"config is not valid JSON: {e.Message}", e);
        }

        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidInputFileException(path, null, "config is not a JSON object");
            }

            var reader = new FieldReader(root, path);
            return new ModelConfigSummary
            {
                ModelType = reader.String("model_type"),
                Architectures = reader.Strings("architectures"),
                HiddenSize = reader.Integer("hidden_size"),
                IntermediateSize = reader.Integer("intermediate_size"),
                NumHiddenLayers = reader.Integer("num_hidden_layers"),
                NumAttentionHeads = reader.Integer("num_attention_heads"),
                NumKeyValueHeads = reader.Integer("num_key_value_heads"),
                HeadDim = reader.Integer("head_dim"),
                VocabSize = reader.Integer("vocab_size"),
                MaxPositionEmbeddings = reader.Integer("max_position_embeddings"),
                TieWordEmbeddings = reader.Bool("tie_word_embeddings"),
                RmsNormEps = reader.Number("rms_norm_eps"),
                Dtype = reader.String("torch_dtype") ?? reader.String("dtype"),
                Rope = RopeSettings(root),
            };
        }
    }

    private static Dictionary<string, string> RopeSettings(JsonElement root)
    {
        var rope = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("rope_theta", out JsonElement theta) && theta.ValueKind == JsonValueKind.Number)
        {
            rope["rope_theta"] = theta.GetRawText();
        }

        foreach (string key in new[] { "rope_scaling", "rope_parameters" })
        {
            if (root.TryGetProperty(key, out JsonElement obj) && obj.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty p in obj.EnumerateObject())
                {
                    rope[p.Name == "type" ? "rope_type" : p.Name] =
                        p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
                }
            }
        }

        return rope;
    }

    /// <summary>Typed access to optional top-level fields; a present field of the wrong type is an error.</summary>
    private readonly struct FieldReader(JsonElement root, string path)
    {
        public string? String(string key) =>
            Get(key, JsonValueKind.String) is { } e ? e.GetString() : null;

        public IReadOnlyList<string> Strings(string key)
        {
            if (Get(key, JsonValueKind.Array) is not { } array)
            {
                return [];
            }

            var items = new List<string>();
            foreach (JsonElement x in array.EnumerateArray())
            {
                items.Add(x.ValueKind == JsonValueKind.String ? x.GetString()! : throw WrongType(key, "an array of strings"));
            }

            return items;
        }

        public long? Integer(string key) =>
            Get(key, JsonValueKind.Number) is { } e
                ? e.TryGetInt64(out long v) ? v : throw WrongType(key, "an integer")
                : null;

        public double? Number(string key) => Get(key, JsonValueKind.Number)?.GetDouble();

        public bool? Bool(string key) =>
            root.TryGetProperty(key, out JsonElement e) && e.ValueKind != JsonValueKind.Null
                ? e.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => throw WrongType(key, "true or false"),
                }
                : null;

        private JsonElement? Get(string key, JsonValueKind kind)
        {
            if (!root.TryGetProperty(key, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            return e.ValueKind == kind ? e : throw WrongType(key, kind.ToString().ToLower(CultureInfo.InvariantCulture));
        }

        private InvalidInputFileException WrongType(string key, string expected) =>
            new(path, null, $"config field '{key}' must be {expected}");
    }
}
