using System.Text.Json.Nodes;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Llm;
using TorchToNnef.Export.Llm.Reference;
using TorchToNnef.Export.Verification;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Export.Tests.Llm;

/// <summary>
/// The golden comparisons can fail: a reference pass that gets one feature wrong (rope scaling, causal mask, position
/// offset, which rows of a fused projection are which) no longer matches transformers.
/// </summary>
public class ReferenceNegativeControlTests(ITestOutputHelper log)
{
    [Fact]
    public void Llama32WithoutItsRopeScalingNoLongerMatches()
    {
        using var dir = new TempDir();
        string path = GoldenCheckpoints.CopyWithConfig("llama32", dir.File("hf"), c =>
            c["rope_parameters"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = 500000.0 });
        Assert.Contains(Run(path, "llama32", "prompt"), o => !o.Passed);
    }

    [Fact]
    public void WithoutThePositionOffsetTextGenerationNoLongerMatches()
    {
        // Feed the text-generation step as if it were at position 0 by dropping its past: the logits must differ.
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(GoldenCheckpoints.Dir("llama"));
        IReadOnlyList<NamedTensor> bundle = IoBundle.ReadNpz(Golden.File("llm", "llama", "reference", "hf_text_generation_io.npz"));
        (long[] ids, _) = ReferenceBundles.ReadInputs(bundle, checkpoint.Config);
        ForwardResult alone = new DecoderReference(checkpoint).Run(ids);
        TensorValue logits = ReferenceBundles.ToOutputs(alone, ReferencePrecision.F32)[0].Value;
        OutputComparison c = OutputComparison.Compare("outputs", bundle.Single(b => b.Name == "outputs").Value, logits, Approximation.Approximate);
        log.WriteLine($"max abs {c.MaxAbsError}");
        Assert.False(c.Passed);
    }

    [Fact]
    public void Phi3WithQkvRowsReadAsKqvNoLongerMatches()
    {
        DecoderFamily phi3 = DecoderFamilies.All.Single(f => f.ModelType == "phi3");
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(GoldenCheckpoints.Dir("phi3"));
        DecoderArchitecture right = checkpoint.Architecture;
        DecoderArchitecture swapped = right with
        {
            Layers = right.Layers.Select(l => l with { Query = l.Key with { Size = l.Query.Size }, Key = l.Query with { Size = l.Key.Size } }).ToList(),
        };

        // Query and key have different widths here only if heads differ from kv heads (4 vs 2): then the swap reads the
        // wrong rows for both.
        Assert.NotEqual(right.Layers[0].Query.Size, right.Layers[0].Key.Size);
        Assert.Contains(Run(checkpoint, swapped, "phi3", "prompt"), o => !o.Passed);
    }

    private List<OutputComparison> Run(string checkpointDir, string model, string mode)
    {
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(checkpointDir);
        return Run(checkpoint, checkpoint.Architecture, model, mode);
    }

    private List<OutputComparison> Run(LlmCheckpoint checkpoint, DecoderArchitecture architecture, string model, string mode)
    {
        IReadOnlyList<NamedTensor> bundle = IoBundle.ReadNpz(Golden.File("llm", model, "reference", $"hf_{mode}_io.npz"));
        (long[] ids, List<KvCache> past) = ReferenceBundles.ReadInputs(bundle, checkpoint.Config);
        ForwardResult result = new DecoderReference(checkpoint, architecture).Run(ids, past);
        var expected = bundle.ToDictionary(t => t.Name, t => t.Value);
        List<OutputComparison> comparisons = ReferenceBundles.ToOutputs(result, ReferencePrecision.F32)
            .Select(o => OutputComparison.Compare(o.Name, expected[o.Name], o.Value, Approximation.Approximate))
            .ToList();
        foreach (OutputComparison c in comparisons)
        {
            log.WriteLine($"{c.Name}: max abs {c.MaxAbsError:G3} outliers {c.Outliers}");
        }

        return comparisons;
    }
}
