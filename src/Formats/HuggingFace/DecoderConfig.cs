using System.Globalization;
using System.Text.Json;
using TorchToNnef.Errors;
using TorchToNnef.IO;

namespace TorchToNnef.Formats.HuggingFace;

/// <summary>
/// A decoder-only causal LM's <c>config.json</c>, validated: sizes are positive and consistent (heads divide into
/// key/value groups, <c>head_dim</c> given or <c>hidden_size / num_attention_heads</c>), rotary settings resolved
/// from either spelling (<see cref="RopeSettings"/>), and sliding-window attention resolved per layer. Which
/// architecture the config describes is decided by the caller from <see cref="ModelType"/>; family-specific
/// defaults (<c>rms_norm_eps</c>) stay unresolved here (null when absent).
/// </summary>
public sealed record DecoderConfig
{
    // Real configs are a few KB; anything far larger is not a config.
    private const long MaxConfigBytes = 16L << 20;

    // Rotary types we implement, by transformers' name.
    private static readonly Dictionary<string, RopeScaling> RopeTypes = new(StringComparer.Ordinal)
    {
        ["default"] = RopeScaling.None,
        ["linear"] = RopeScaling.Linear,
        ["llama3"] = RopeScaling.Llama3,
    };

    /// <summary>The file read.</summary>
    public required string Path { get; init; }

    /// <summary><c>model_type</c>.</summary>
    public required string ModelType { get; init; }

    /// <summary><c>architectures</c> (may be empty).</summary>
    public IReadOnlyList<string> Architectures { get; init; } = [];

    /// <summary><c>hidden_size</c>.</summary>
    public required int HiddenSize { get; init; }

    /// <summary><c>intermediate_size</c> (MLP width).</summary>
    public required int IntermediateSize { get; init; }

    /// <summary><c>num_hidden_layers</c>.</summary>
    public required int NumLayers { get; init; }

    /// <summary><c>num_attention_heads</c> (query heads).</summary>
    public required int NumAttentionHeads { get; init; }

    /// <summary><c>num_key_value_heads</c> (as many as query heads when absent); divides <see cref="NumAttentionHeads"/>.</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary><c>head_dim</c>, or <c>hidden_size / num_attention_heads</c> when absent.</summary>
    public required int HeadDim { get; init; }

    /// <summary><c>vocab_size</c>.</summary>
    public required int VocabSize { get; init; }

    /// <summary><c>max_position_embeddings</c>.</summary>
    public required long MaxPositionEmbeddings { get; init; }

    /// <summary><c>tie_word_embeddings</c> (false when absent, the default of every family we export).</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary><c>rms_norm_eps</c>, null when absent (the family supplies its default).</summary>
    public double? RmsNormEps { get; init; }

    /// <summary><c>hidden_act</c>, null when absent.</summary>
    public string? HiddenAct { get; init; }

    /// <summary><c>attention_bias</c> (false when absent).</summary>
    public bool AttentionBias { get; init; }

    /// <summary><c>mlp_bias</c> (false when absent).</summary>
    public bool MlpBias { get; init; }

    /// <summary>Rotary settings.</summary>
    public required RopeSettings Rope { get; init; }

    /// <summary>
    /// Per layer, the sliding attention window (a query at position q sees keys at positions k with q - k &lt; window),
    /// or null for full causal attention.
    /// </summary>
    public required IReadOnlyList<long?> AttentionWindows { get; init; }

    /// <summary><c>torch_dtype</c> (transformers 4) or <c>dtype</c> (transformers 5), null when absent.</summary>
    public string? Dtype { get; init; }

    /// <summary>Query heads sharing one key/value head.</summary>
    public int QueriesPerKeyValue => NumAttentionHeads / NumKeyValueHeads;

    /// <summary>Reads and validates a <c>config.json</c>.</summary>
    /// <exception cref="InvalidInputFileException">Not JSON, a field of the wrong type, a missing or inconsistent size.</exception>
    /// <exception cref="UnsupportedFeatureException">A rotary scaling type or layer type we do not implement.</exception>
    public static DecoderConfig Read(string path)
    {
        // A regular file of bounded size (a FIFO or device is refused at once, not read forever).
        byte[] bytes = InputFile.ReadAllBytes(path, MaxConfigBytes, "config");
        JsonText.RequireUtf8(bytes, path, "config");
        HfConfigJson json;
        try
        {
            json = JsonSerializer.Deserialize(bytes, HfJsonContext.Default.HfConfigJson)
                ?? throw new InvalidInputFileException(path, null, "config is null, not a JSON object");
        }
        catch (JsonException e)
        {
            string where = e.Path is null ? string.Empty : $" at {e.Path}";
            throw new InvalidInputFileException(path, null, $"config is not valid JSON or a field has the wrong type{where}: {e.Message}", e);
        }

        return Resolve(json, path);
    }

    private static DecoderConfig Resolve(HfConfigJson j, string path)
    {
        string modelType = string.IsNullOrEmpty(j.ModelType) ? throw Invalid(path, "config has no 'model_type'") : j.ModelType;
        int hidden = Positive(j.HiddenSize, "hidden_size", path);
        int heads = Positive(j.NumAttentionHeads, "num_attention_heads", path);
        int kvHeads = j.NumKeyValueHeads is null ? heads : Positive(j.NumKeyValueHeads, "num_key_value_heads", path);
        if (heads % kvHeads != 0)
        {
            throw Invalid(path, $"num_attention_heads ({heads}) is not a multiple of num_key_value_heads ({kvHeads})");
        }

        int headDim;
        if (j.HeadDim is not null)
        {
            headDim = Positive(j.HeadDim, "head_dim", path);
        }
        else if (hidden % heads == 0)
        {
            headDim = hidden / heads;
        }
        else
        {
            throw Invalid(path, $"no 'head_dim', and hidden_size ({hidden}) is not a multiple of num_attention_heads ({heads})");
        }

        if (headDim % 2 != 0)
        {
            throw Invalid(path, $"head_dim {headDim} is odd; rotary embeddings rotate pairs of dimensions");
        }

        int layers = Positive(j.NumHiddenLayers, "num_hidden_layers", path);
        if (j.RmsNormEps is { } eps && !(eps > 0 && double.IsFinite(eps)))
        {
            throw Invalid(path, $"rms_norm_eps {eps.ToString(CultureInfo.InvariantCulture)} is not a positive number");
        }

        return new DecoderConfig
        {
            Path = path,
            ModelType = modelType,
            Architectures = j.Architectures ?? [],
            HiddenSize = hidden,
            IntermediateSize = Positive(j.IntermediateSize, "intermediate_size", path),
            NumLayers = layers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim,
            VocabSize = Positive(j.VocabSize, "vocab_size", path),
            MaxPositionEmbeddings = j.MaxPositionEmbeddings is { } max && max > 0 ? max : throw Invalid(path, "config needs a positive 'max_position_embeddings'"),
            TieWordEmbeddings = j.TieWordEmbeddings ?? false,
            RmsNormEps = j.RmsNormEps,
            HiddenAct = j.HiddenAct,
            AttentionBias = j.AttentionBias ?? false,
            MlpBias = j.MlpBias ?? false,
            Rope = ResolveRope(j, path),
            AttentionWindows = ResolveWindows(j, layers, path),
            Dtype = j.TorchDtype ?? j.Dtype,
        };
    }

    private static RopeSettings ResolveRope(HfConfigJson j, string path)
    {
        // transformers 5 writes everything in rope_parameters; transformers 4 writes rope_theta beside rope_scaling.
        HfRopeJson? rope = j.RopeParameters ?? j.RopeScaling;
        string field = j.RopeParameters is not null ? "rope_parameters" : "rope_scaling";
        double theta = rope?.RopeTheta ?? j.RopeTheta ?? 10000.0;
        if (!(theta > 0 && double.IsFinite(theta)))
        {
            throw Invalid(path, $"rope_theta {theta.ToString(CultureInfo.InvariantCulture)} is not a positive number");
        }

        double partial = rope?.PartialRotaryFactor ?? j.PartialRotaryFactor ?? 1.0;
        if (!(partial > 0 && partial <= 1))
        {
            throw Invalid(path, $"partial_rotary_factor {partial.ToString(CultureInfo.InvariantCulture)} is not in (0, 1]");
        }

        if (rope is null)
        {
            return new RopeSettings { Theta = theta, PartialRotaryFactor = partial };
        }

        string typeName = rope.RopeType ?? rope.Type ?? "default";
        if (!RopeTypes.TryGetValue(typeName, out RopeScaling scaling))
        {
            throw new UnsupportedFeatureException(path, null,
                $"{field} type '{typeName}' is not supported (supported: {string.Join(", ", RopeTypes.Keys)})");
        }

        if (rope.Other is { Count: > 0 } other)
        {
            string keys = string.Join(", ", other.Keys.Order(StringComparer.Ordinal).Select(k => $"'{k}'"));
            throw new UnsupportedFeatureException(path, null, $"{field} has setting(s) {keys} that this exporter does not implement");
        }

        var settings = new RopeSettings { Theta = theta, Scaling = scaling, PartialRotaryFactor = partial };
        return scaling switch
        {
            RopeScaling.None => settings,
            RopeScaling.Linear => settings with { Factor = Factor(rope.Factor, "factor", field, path) },
            RopeScaling.Llama3 => Llama3(settings, rope, field, path),
            _ => throw new InvalidOperationException(),
        };
    }

    private static RopeSettings Llama3(RopeSettings settings, HfRopeJson rope, string field, string path)
    {
        double low = Factor(rope.LowFreqFactor, "low_freq_factor", field, path);
        double high = Factor(rope.HighFreqFactor, "high_freq_factor", field, path);
        if (!(high > low))
        {
            throw Invalid(path, $"{field}: high_freq_factor must exceed low_freq_factor");
        }

        return settings with
        {
            Factor = Factor(rope.Factor, "factor", field, path),
            LowFreqFactor = low,
            HighFreqFactor = high,
            OriginalMaxPositionEmbeddings = rope.OriginalMaxPositionEmbeddings is { } n && n > 0
                ? n
                : throw Invalid(path, $"{field} of type llama3 needs a positive 'original_max_position_embeddings'"),
        };
    }

    private static List<long?> ResolveWindows(HfConfigJson j, int layers, string path)
    {
        long? window = j.SlidingWindow;
        if (window is <= 0)
        {
            throw Invalid(path, $"sliding_window {window} is not positive");
        }

        if (j.LayerTypes is { } types)
        {
            if (types.Length != layers)
            {
                throw Invalid(path, $"layer_types lists {types.Length} layers, num_hidden_layers is {layers}");
            }

            return types.Select(t => t switch
            {
                "full_attention" => (long?)null,
                "sliding_attention" => window ?? throw Invalid(path, "layer_types has 'sliding_attention' but sliding_window is null"),
                _ => throw new UnsupportedFeatureException(path, null, $"layer type '{t}' is not supported (supported: full_attention, sliding_attention)"),
            }).ToList();
        }

        // Without layer_types, a non-null sliding_window applies to every layer unless use_sliding_window says no
        // (Mistral writes only sliding_window; Qwen 2 writes use_sliding_window: false beside it).
        bool sliding = window is not null && j.UseSlidingWindow != false;
        return Enumerable.Repeat(sliding ? window : null, layers).ToList();
    }

    private static double Factor(double? value, string name, string field, string path) =>
        value is { } v && v > 0 && double.IsFinite(v) ? v : throw Invalid(path, $"{field} needs a positive '{name}'");

    private static int Positive(long? value, string name, string path) =>
        value switch
        {
            null => throw Invalid(path, $"config has no '{name}'"),
            <= 0 or > int.MaxValue => throw Invalid(path, $"'{name}' is {value}, not a positive 32-bit size"),
            _ => (int)value.Value,
        };

    private static InvalidInputFileException Invalid(string path, string what) => new(path, null, what);
}
