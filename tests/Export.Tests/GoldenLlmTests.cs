using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// Every LLM golden export replayed on its four check-io bundles, as torch_to_nnef would check it with tract at its
/// default tolerance (<c>approximate</c>; f16 outputs compared in f16), for every model, export and output, with
/// exactly one listed exception. The graphs carry the reference defect (1×1 mask, positions from 0), and the bundles
/// were produced by the same traced wrapper, so they agree.
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

    // The only outputs outside `approximate`, and by how much at most (ops-in-goldens.md §5): with f16 dot products
    // accumulated in f32 and rounded once, K-cache elements of layer 1 of qwen3's f16 export (behind its q/k RMS norms)
    // fall just outside in two of the four bundles. Every other output of every bundle must pass, and each listed
    // deviation must still occur (so the list stays exact).
    private static readonly (string Model, string Export, string Mode, string Output, int MaxOutliers, double MaxAbsError)[] KnownDeviations =
    [
        ("qwen3", Exports[2], "export", "out_cache_key_1", 2, 2.5e-3),
        ("qwen3", Exports[2], "prompt", "out_cache_key_1", 2, 2.5e-3),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryModeOfTheExportPassesTheReferenceToolsTolerance(string model, string export)
    {
        Graph graph = NnefArchive.Read(Golden.File("llm", model, export, "model", "model.nnef.tgz"));
        foreach (string mode in Modes)
        {
            IReadOnlyList<NamedTensor> bundle = ReadBundle(Golden.File("llm", model, export, "tests", $"{mode}_io.npz"));
            VerificationReport report = GraphVerifier.Verify(graph, bundle, Approximation.Approximate);
            foreach (OutputComparison o in report.Outputs)
            {
                string where = $"{model}/{export}/{mode} {o.Name}";
                log.WriteLine($"{where}: max abs {o.MaxAbsError:G4}, max rel {o.MaxRelError:G4}, outliers {o.Outliers}/{o.Count} ({o.ComparedAs})");
                var known = KnownDeviations.Where(d => (d.Model, d.Export, d.Mode, d.Output) == (model, export, mode, o.Name)).ToList();
                if (known.Count == 0)
                {
                    Assert.True(o.Passed, $"{where}: {o.Outliers} outlier(s); {o.Detail}");
                    continue;
                }

                Assert.False(o.Passed, $"{where} is listed as a known deviation but now passes `approximate`: remove it from the list");
                Assert.InRange(o.Outliers, 1, known[0].MaxOutliers);
                Assert.True(o.MaxAbsError <= known[0].MaxAbsError, $"{where}: max abs error {o.MaxAbsError:G4} beyond the known {known[0].MaxAbsError:G4}");
            }

            Assert.Equal(graph.Outputs, report.Outputs.Select(o => o.Name));
        }
    }

    internal static IReadOnlyList<NamedTensor> ReadBundle(string path) => IoBundle.ReadNpz(path);
}
