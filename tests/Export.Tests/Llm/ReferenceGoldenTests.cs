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

    /// <summary>
    /// The f16 modes (what an f16 export computes, weights rounded from the f32 checkpoint) against transformers' f32
    /// outputs at tract's f16 tolerance (the expected values are cast to f16, <c>approximate</c> gives 1e-3 + 5e-3·|x|).
    /// Everything passes except qwen3's second-layer key cache behind its q/k RMS norms, where 1 or 2 elements of a few
    /// hundred are just outside, as with the reference tool's own f16 export (<see cref="GoldenLlmTests"/>); there
    /// <c>very</c> holds.
    /// </summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void F16PassesMatchTransformersAtTheF16Tolerance(string model, string mode)
    {
        foreach (ReferencePrecision precision in new[] { ReferencePrecision.F16, ReferencePrecision.F16WithF32Attention })
        {
            foreach (OutputComparison o in Compare(model, mode, precision, Approximation.Approximate))
            {
                Assert.Equal("F16", o.ComparedAs.ToString());
                if (model == "qwen3" && o.Name.StartsWith("out_cache_key_", StringComparison.Ordinal) && !o.Passed)
                {
                    Assert.InRange(o.Outliers, 1, 2);
                    Assert.True(OutputComparison.Compare(o.Name, Expected(model, mode, o.Name), Got(model, mode, precision, o.Name), Approximation.VeryApproximate).Passed);
                    continue;
                }

                Assert.True(o.Passed, $"{model}/{mode}/{precision} {o.Name}: {o.Outliers} outlier(s), max abs {o.MaxAbsError:G4}; {o.Detail}");
            }
        }
    }

    [Fact]
    public void F16PassesRoundWhatF32Keeps()
    {
        // The f16 modes really compute in f16: their logits differ from the f32 pass by more than f32 noise but stay
        // within the f16 tolerance of it.
        TensorValue f32 = Got("llama", "prompt", ReferencePrecision.F32, "outputs");
        foreach (ReferencePrecision precision in new[] { ReferencePrecision.F16, ReferencePrecision.F16WithF32Attention })
        {
            TensorValue f16 = Got("llama", "prompt", precision, "outputs");
            OutputComparison c = OutputComparison.Compare("outputs", f32, f16, Approximation.Approximate);
            log.WriteLine($"{precision} vs f32: max abs {c.MaxAbsError:G3}");
            Assert.True(c.Passed);
            Assert.True(c.MaxAbsError > 1e-5, $"{precision} max abs {c.MaxAbsError}");
        }
    }

    private static TensorValue Expected(string model, string mode, string name) =>
        IoBundle.ReadNpz(Golden.File("llm", model, "reference", $"hf_{mode}_io.npz")).Single(t => t.Name == name).Value;

    private static TensorValue Got(string model, string mode, ReferencePrecision precision, string name)
    {
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(Golden.File("llm", model, "hf"));
        IReadOnlyList<NamedTensor> bundle = IoBundle.ReadNpz(Golden.File("llm", model, "reference", $"hf_{mode}_io.npz"));
        (long[] ids, List<KvCache> past) = ReferenceBundles.ReadInputs(bundle, checkpoint.Config);
        ForwardResult result = new DecoderReference(checkpoint, precision).Run(ids, past);
        return ReferenceBundles.ToOutputs(result, precision).Single(o => o.Name == name).Value;
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
