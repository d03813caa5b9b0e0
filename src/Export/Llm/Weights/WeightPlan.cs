using TorchToNnef.Errors;
using TorchToNnef.Quant;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Llm.Weights;

/// <summary>One checkpoint tensor as the archive stores it.</summary>
/// <param name="Name">Checkpoint name (<c>model.layers.0.self_attn.q_proj.weight</c>).</param>
/// <param name="Label">Archive label (<c>model.model.layers.0.self_attn.q_proj.weight</c>): the <c>.dat</c> name.</param>
/// <param name="Source">The stored data: the weight in the export's float type, or its Q4_0 blocks computed when written.</param>
/// <param name="Quantized">True when stored as Q4_0.</param>
public sealed record PlannedWeight(string Name, string Label, TensorSource Source, bool Quantized);

/// <summary>A weight the compression method selects that stays float, and why.</summary>
/// <param name="Label">Archive label.</param>
/// <param name="Reason">Why.</param>
public sealed record FloatWeight(string Label, string Reason);

/// <summary>
/// How each checkpoint tensor becomes an archive variable: its label (the reference tool's name for it, the
/// checkpoint name under the wrapper's <c>model.</c> prefix; tied embedding and output weights are one variable,
/// labelled as the embedding), its float type (the export's), and whether the compression method turns it into
/// Q4_0. Linear weights are of kind <see cref="WeightKind.Linear"/>, the embedding table of kind
/// <see cref="WeightKind.Embedding"/> (and also <see cref="WeightKind.Linear"/> when tied: it is then quantized only
/// when the method selects both, as the reference tool leaves a weight shared with an unselected module float);
/// norms and biases are never quantized. Data is read only when written: floats are converted a window at a time,
/// Q4_0 blocks are computed from positional reads of the checkpoint in the export's float arithmetic (f16 weights are
/// quantized in f16, as the reference tool does after <c>-dt f16</c>).
/// </summary>
public sealed class WeightPlan
{
    /// <summary>Prefix the reference tool's wrapper adds to every parameter name.</summary>
    public const string WrapperPrefix = "model.";

    private readonly Dictionary<string, PlannedWeight> _byName = new(StringComparer.Ordinal);

    private WeightPlan()
    {
    }

    /// <summary>Every stored tensor, in model order (a tied weight once).</summary>
    public IReadOnlyList<PlannedWeight> Weights => [.. _byName.Values.DistinctBy(w => w.Label)];

    /// <summary>Weights the method selects that stay float, with the reason (shown as warnings).</summary>
    public IReadOnlyList<FloatWeight> LeftFloat { get; private set; } = [];

    /// <summary>The archive label of checkpoint tensor <paramref name="name"/>.</summary>
    public static string LabelOf(string name) => WrapperPrefix + name;

    /// <summary>The stored form of checkpoint tensor <paramref name="name"/> (the embedding's for a tied output projection).</summary>
    /// <exception cref="KeyNotFoundException">Not a tensor of the model.</exception>
    public PlannedWeight this[string name] => _byName[name];

    /// <summary>Plans every tensor of <paramref name="checkpoint"/>.</summary>
    /// <param name="checkpoint">An open, validated checkpoint (it must stay open while the plan is used).</param>
    /// <param name="weights">The export's float type (f32 or f16).</param>
    /// <param name="method">Compression method, or null for none.</param>
    /// <param name="quantizeOptions">Threads of the quantizer.</param>
    public static WeightPlan Create(LlmCheckpoint checkpoint, DType weights, CompressionMethod? method, Q40QuantizeOptions? quantizeOptions = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        DecoderArchitecture arch = checkpoint.Architecture;
        var kinds = new Dictionary<string, List<WeightKind>>(StringComparer.Ordinal)
        {
            [arch.Embedding] = [WeightKind.Embedding],
        };
        kinds.TryAdd(arch.LmHead, []);
        kinds[arch.LmHead].Add(WeightKind.Linear);
        foreach (DecoderLayerWeights layer in arch.Layers)
        {
            foreach (LinearWeights l in layer.QkvLinears.Concat([layer.Output]).Concat(layer.GateUpLinears).Concat([layer.Down]))
            {
                kinds[l.Weight] = [WeightKind.Linear];
            }
        }

        var plan = new WeightPlan();
        var leftFloat = new List<FloatWeight>();
        foreach (ExpectedTensor t in arch.Tensors)
        {
            string label = LabelOf(t.Name);
            IReadOnlyList<WeightKind> use = kinds.GetValueOrDefault(t.Name) ?? [];
            string? reason = null;
            bool quantize = method is not null && use.Count > 0 && use.Any(method.Selects);
            if (quantize && use.Where(k => !method!.Selects(k)).Select(k => (WeightKind?)k).FirstOrDefault() is WeightKind unselected)
            {
                reason = $"it is shared with a {unselected} use that '{method!.Key}' does not quantize";
                quantize = false;
            }

            TensorSource source;
            if (quantize)
            {
                TensorSource floats = Float(checkpoint, t.Name, weights);
                if (!method!.IsEligible(floats, out string? why))
                {
                    reason = why;
                    source = floats;
                    quantize = false;
                }
                else
                {
                    source = method.QuantizeLazily(floats, label, quantizeOptions);
                }
            }
            else
            {
                source = Float(checkpoint, t.Name, weights);
            }

            if (reason is not null)
            {
                leftFloat.Add(new FloatWeight(label, reason));
            }

            plan._byName[t.Name] = new PlannedWeight(t.Name, label, source, quantize);
        }

        if (arch.TiedEmbeddings)
        {
            plan._byName[arch.Family.LmHead] = plan._byName[arch.Embedding];
        }

        plan.LeftFloat = leftFloat;
        return plan;
    }

    private static TensorSource Float(LlmCheckpoint checkpoint, string name, DType weights)
    {
        TensorSource raw = checkpoint.Weights.GetSource(name);
        if (raw.DType is not (DType.F32 or DType.F16 or DType.BF16))
        {
            throw new InvalidInputFileException(checkpoint.Weights.ShardOf(name).Path, name, $"is {raw.DType.Name()}, not a float type");
        }

        return new ConvertedTensorSource(raw, weights);
    }
}
