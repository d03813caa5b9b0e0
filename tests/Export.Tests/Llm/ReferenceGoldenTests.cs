using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Llm;
using TorchToNnef.Export.Llm.Reference;
using TorchToNnef.Export.Verification;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Export.Tests.Llm;

/// <summary>
/// The reference forward pass against what transformers computed for each golden model (<c>reference/hf_*_io.npz</c>:
/// a 12-token prompt, 5 tokens after 7 cached, 1 token after 11 cached; logits and every KV cache), compared as
/// tract's check-io compares.
/// </summary>
public class ReferenceGoldenTests(ITestOutputHelper log)
{
    public static readonly string[] Models = ["llama", "llama_tied", "qwen2", "phi3", "qwen3", "llama32"];
    public static readonly string[] Modes = ["prompt", "prompt_with_past", "text_generation"];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string model in Models)
        {
            foreach (string mode in Modes)
            {
                data.Add(model, mode);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void F32PassMatchesTransformersAtApproximate(string model, string mode)
    {
        foreach (OutputComparison o in Compare(model, mode, ReferencePrecision.F32, Approximation.Approximate))
        {
            Assert.True(o.Passed, $"{model}/{mode} {o.Name}: {o.Outliers} outlier(s), max abs {o.MaxAbsError:G4}; {o.Detail}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void F16PassMatchesTransformersAtTheF16Tolerance(string model, string mode)
    {
        foreach (ReferencePrecision precision in new[] { ReferencePrecision.F16, ReferencePrecision.F16WithF32Attention })
        {
            foreach (OutputComparison o in Compare(model, mode, precision, Approximation.Approximate))
            {
                log.WriteLine($"  {o.ComparedAs} tol {o.Tolerance}");
            }
        }
    }

    internal List<OutputComparison> Compare(string model, string mode, ReferencePrecision precision, Approximation level)
    {
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(Golden.File("llm", model, "hf"));
        IReadOnlyList<NamedTensor> bundle = IoBundle.ReadNpz(Golden.File("llm", model, "reference", $"hf_{mode}_io.npz"));
        (long[] ids, List<KvCache> past) = ReferenceBundles.ReadInputs(bundle, checkpoint.Config);
        ForwardResult result = new DecoderReference(checkpoint, precision).Run(ids, past, logitsToKeep: 1);
        List<NamedTensor> outputs = ReferenceBundles.ToOutputs(result, precision);
        var expected = bundle.ToDictionary(t => t.Name, t => t.Value);
        var comparisons = new List<OutputComparison>();
        foreach (NamedTensor o in outputs)
        {
            OutputComparison c = OutputComparison.Compare(o.Name, expected[o.Name], o.Value, level);
            log.WriteLine($"{model}/{mode}/{precision} {c.Name}: max abs {c.MaxAbsError:G3}, outliers {c.Outliers}/{c.Count}");
            comparisons.Add(c);
        }

        Assert.Equal(1 + (4 * checkpoint.Config.NumLayers / 2), comparisons.Count);
        return comparisons;
    }
}
