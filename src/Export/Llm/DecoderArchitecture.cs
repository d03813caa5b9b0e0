using System.Globalization;
using TorchToNnef.Errors;
using TorchToNnef.Formats.HuggingFace;

namespace TorchToNnef.Export.Llm;

/// <summary>One tensor a checkpoint must hold: its name and shape.</summary>
/// <param name="Name">Checkpoint name.</param>
/// <param name="Shape">Expected shape.</param>
public sealed record ExpectedTensor(string Name, long[] Shape)
{
    /// <summary>Formats as <c>name [2, 3]</c>.</summary>
    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}

/// <summary>
/// A decoder fully resolved from its config and family: sizes, rotary settings, norm epsilon, and every tensor by
/// role with its expected shape. This is the one description both the reference forward pass and the graph builder
/// read; unsupported config options are rejected here, before any file is written.
/// </summary>
public sealed record DecoderArchitecture
{
    /// <summary>The config it was resolved from.</summary>
    public required DecoderConfig Config { get; init; }

    /// <summary>The family.</summary>
    public required DecoderFamily Family { get; init; }

    /// <summary>RMS norm epsilon (the config's, or the family default).</summary>
    public required double RmsNormEps { get; init; }

    /// <summary>Token embedding <c>[vocab, hidden]</c>.</summary>
    public required string Embedding { get; init; }

    /// <summary>Final norm weight <c>[hidden]</c>.</summary>
    public required string FinalNorm { get; init; }

    /// <summary>Output projection <c>[vocab, hidden]</c>; the embedding's name when tied.</summary>
    public required string LmHead { get; init; }

    /// <summary>True when the output projection is the embedding table.</summary>
    public bool TiedEmbeddings => LmHead == Embedding;

    /// <summary>The layers.</summary>
    public required IReadOnlyList<DecoderLayerWeights> Layers { get; init; }

    /// <summary>Every tensor the checkpoint must hold, with its shape, in model order.</summary>
    public required IReadOnlyList<ExpectedTensor> Tensors { get; init; }

    /// <summary>Resolves <paramref name="config"/> against its family.</summary>
    /// <exception cref="UnsupportedFeatureException">Unknown family, or a config option the exporter does not implement.</exception>
    public static DecoderArchitecture Resolve(DecoderConfig config) => Resolve(config, DecoderFamilies.For(config));

    /// <summary>Resolves <paramref name="config"/> against <paramref name="family"/>.</summary>
    /// <exception cref="UnsupportedFeatureException">A config option the exporter does not implement.</exception>
    /// <exception cref="InvalidInputFileException">The family's layout does not fit the config.</exception>
    public static DecoderArchitecture Resolve(DecoderConfig config, DecoderFamily family)
    {
        string act = config.HiddenAct ?? "silu";
        if (!family.Activations.Contains(act))
        {
            throw Unsupported(config, $"hidden_act '{act}' is not supported for {family.ModelType} (supported: {string.Join(", ", family.Activations)})");
        }

        if (config.Rope.PartialRotaryFactor != 1)
        {
            throw Unsupported(config, $"partial_rotary_factor {config.Rope.PartialRotaryFactor.ToString(CultureInfo.InvariantCulture)} is not supported (only 1: every head dimension rotates)");
        }

        if (family.QkvProjections.Count is not (1 or 3) || family.GateUpProjections.Count is not (1 or 2))
        {
            throw new ArgumentException($"Family '{family.ModelType}' must list 1 or 3 q/k/v modules and 1 or 2 gate/up modules.", nameof(family));
        }

        var tensors = new List<ExpectedTensor>();
        long hidden = config.HiddenSize;
        tensors.Add(new(family.Embedding, [config.VocabSize, hidden]));
        var layers = new List<DecoderLayerWeights>(config.NumLayers);
        for (int i = 0; i < config.NumLayers; i++)
        {
            layers.Add(Layer(config, family, i, tensors));
        }

        tensors.Add(new(family.FinalNorm, [hidden]));
        if (!config.TieWordEmbeddings)
        {
            tensors.Add(new(family.LmHead, [config.VocabSize, hidden]));
        }

        return new DecoderArchitecture
        {
            Config = config,
            Family = family,
            RmsNormEps = config.RmsNormEps ?? family.DefaultRmsNormEps,
            Embedding = family.Embedding,
            FinalNorm = family.FinalNorm,
            LmHead = config.TieWordEmbeddings ? family.Embedding : family.LmHead,
            Layers = layers,
            Tensors = tensors,
        };
    }

    private static DecoderLayerWeights Layer(DecoderConfig c, DecoderFamily f, int index, List<ExpectedTensor> tensors)
    {
        string prefix = string.Format(CultureInfo.InvariantCulture, f.LayerPrefix, index);
        int hidden = c.HiddenSize;
        int q = checked(c.NumAttentionHeads * c.HeadDim);
        int kv = checked(c.NumKeyValueHeads * c.HeadDim);
        int inter = c.IntermediateSize;

        LinearWeights Linear(string module, int outFeatures, int inFeatures, bool bias)
        {
            var l = new LinearWeights(prefix + module + ".weight", bias ? prefix + module + ".bias" : null, outFeatures, inFeatures);
            tensors.Add(new(l.Weight, [outFeatures, inFeatures]));
            if (l.Bias is not null)
            {
                tensors.Add(new(l.Bias, [outFeatures]));
            }

            return l;
        }

        string Norm(string module, long size)
        {
            string name = prefix + module + ".weight";
            tensors.Add(new(name, [size]));
            return name;
        }

        string attnNorm = Norm(f.AttentionNorm, hidden);
        bool qkvBias = f.QkvBias(c);
        Projection query, key, value;
        if (f.QkvProjections.Count == 3)
        {
            query = Whole(Linear(f.QkvProjections[0], q, hidden, qkvBias));
            key = Whole(Linear(f.QkvProjections[1], kv, hidden, qkvBias));
            value = Whole(Linear(f.QkvProjections[2], kv, hidden, qkvBias));
        }
        else
        {
            LinearWeights fused = Linear(f.QkvProjections[0], checked(q + (2 * kv)), hidden, qkvBias);
            (query, key, value) = (new(fused, 0, q), new(fused, q, kv), new(fused, q + kv, kv));
        }

        string? qNorm = f.QkNorms is { } n1 ? Norm(n1.Query, c.HeadDim) : null;
        string? kNorm = f.QkNorms is { } n2 ? Norm(n2.Key, c.HeadDim) : null;
        LinearWeights output = Linear(f.OutputProjection, hidden, q, f.OutputBias(c));
        string mlpNorm = Norm(f.MlpNorm, hidden);
        bool mlpBias = f.MlpBias(c);
        Projection gate, up;
        if (f.GateUpProjections.Count == 2)
        {
            gate = Whole(Linear(f.GateUpProjections[0], inter, hidden, mlpBias));
            up = Whole(Linear(f.GateUpProjections[1], inter, hidden, mlpBias));
        }
        else
        {
            LinearWeights fused = Linear(f.GateUpProjections[0], checked(2 * inter), hidden, mlpBias);
            (gate, up) = (new(fused, 0, inter), new(fused, inter, inter));
        }

        LinearWeights down = Linear(f.DownProjection, hidden, inter, mlpBias);
        return new DecoderLayerWeights
        {
            Index = index,
            AttentionNorm = attnNorm,
            Query = query,
            Key = key,
            Value = value,
            QueryNorm = qNorm,
            KeyNorm = kNorm,
            Output = output,
            AttentionWindow = c.AttentionWindows[index],
            MlpNorm = mlpNorm,
            Gate = gate,
            Up = up,
            Down = down,
        };
    }

    private static Projection Whole(LinearWeights l) => new(l, 0, l.OutFeatures);

    private static UnsupportedFeatureException Unsupported(DecoderConfig c, string what) => new(c.Path, null, what);
}
