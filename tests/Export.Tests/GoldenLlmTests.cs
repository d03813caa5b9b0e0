using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// Every LLM golden export replayed on its four check-io bundles, as torch_to_nnef would check it with tract at its
/// default tolerance (<c>approximate</c>; f16 outputs compared in f16). The graphs carry the reference defect
/// (1×1 mask, positions from 0), and the bundles were produced by the same traced wrapper, so they agree.
/// </summary>
public class GoldenLlmTests(ITestOutputHelper log)
{
    private static readonly string[] Models = ["llama", "llama_tied", "llama32", "phi3", "qwen2", "qwen3"];
    private static readonly string[] Exports = ["export_f32", "export_min_max_q4_0_with_embeddings", "export_f16_f32attn_min_max_q4_0_all"];
    private static readonly string[] Modes = ["export", "prompt", "prompt_with_past", "text_generation"];

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string model in Models)
        {
            foreach (string export in Exports)
            {
                // llama32 has no f16 export: the reference tool failed on it (golden README).
                if (!(model == "llama32" && export == Exports[2]))
                {
                    data.Add(model, export);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryModeOfTheExportPassesTheReferenceToolsTolerance(string model, string export)
    {
        Graph graph = NnefArchive.Read(Golden.File("llm", model, export, "model", "model.nnef.tgz"));
        Approximation level = ToleranceFor(model, export);
        foreach (string mode in Modes)
        {
            IReadOnlyList<NamedTensor> bundle = ReadBundle(Golden.File("llm", model, export, "tests", $"{mode}_io.npz"));
            VerificationReport report = GraphVerifier.Verify(graph, bundle, level);
            foreach (OutputComparison o in report.Outputs)
            {
                log.WriteLine($"{model}/{export}/{mode} {o.Name}: max abs {o.MaxAbsError:G4}, max rel {o.MaxRelError:G4}, outliers {o.Outliers}/{o.Count} ({o.ComparedAs})");
                Assert.True(o.Passed, $"{model}/{export}/{mode} {o.Name}: {o.Outliers} outlier(s); {o.Detail}");
            }

            Assert.Equal(graph.Outputs, report.Outputs.Select(o => o.Name));
        }
    }

    [Fact]
    public void Qwen3F16KeyCacheIsOutsideApproximateAsTheSpecRecords()
    {
        // ops-in-goldens.md §5: with f32 accumulation rounded once to f16, one K-cache element of qwen3's f16 export
        // (behind its q/k RMS norms) falls outside `approximate`; `very` holds. This pins that finding.
        Graph graph = NnefArchive.Read(Golden.File("llm", "qwen3", Exports[2], "model", "model.nnef.tgz"));
        IReadOnlyList<NamedTensor> bundle = ReadBundle(Golden.File("llm", "qwen3", Exports[2], "tests", "export_io.npz"));
        VerificationReport report = GraphVerifier.Verify(graph, bundle, Approximation.Approximate);
        OutputComparison key = Assert.Single(report.Outputs, o => !o.Passed);
        Assert.Equal("out_cache_key_1", key.Name);
        Assert.InRange(key.Outliers, 1, 2);
        Assert.InRange(key.MaxAbsError, 1e-3, 2.5e-3);
    }

    internal static Approximation ToleranceFor(string model, string export) =>
        model == "qwen3" && export == Exports[2] ? Approximation.VeryApproximate : Approximation.Approximate;

    internal static IReadOnlyList<NamedTensor> ReadBundle(string path) => IoBundle.ReadNpz(path);
}
