using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Llm;
using TorchToNnef.Export.Llm.Building;
using TorchToNnef.Export.Llm.Weights;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Export.Tests.Llm;

/// <summary>
/// The exported decoder graph (built, written, read back and run by our evaluator) against what transformers computed
/// for each golden model (<c>reference/hf_*_io.npz</c>: a 12-token prompt, 5 tokens after 7 cached, 1 token after 11
/// cached), against the reference tool's graph interface, and its Q4_0 weights against the reference tool's bytes.
/// </summary>
public class DecoderGraphGoldenTests(ITestOutputHelper log)
{
    public static TheoryData<string> Models() => [.. ReferenceGoldenTests.Models];

    // Models the reference tool exported in f16 (llama32's f16 export gave NaN there).
    public static TheoryData<string> ModelsWithF16Golden() => [.. ReferenceGoldenTests.Models.Where(m => m != "llama32")];

    [Theory]
    [MemberData(nameof(Models))]
    public void F32GraphMatchesTransformersAtApproximate(string model)
    {
        using var temp = new TempDir();
        Graph graph = WriteAndRead(temp, model, LlmPrecision.F32);
        foreach (string mode in ReferenceGoldenTests.Modes)
        {
            foreach (OutputComparison o in Run(graph, model, mode))
            {
                Assert.True(o.Passed, $"{model}/{mode} {o.Name}: {o.Outliers} outlier(s), max abs {o.MaxAbsError:G4}; {o.Detail}");
            }
        }
    }

    /// <summary>
    /// f16 graphs (with and without f32 attention; llama32 with its llama3 rope scaling included, which the reference
    /// tool could not export) at tract's f16 tolerance. As for the reference pass (<see cref="ReferenceGoldenTests"/>),
    /// qwen3's key caches behind its q/k RMS norms may have 1 or 2 elements just outside; there <c>very</c> holds.
    /// </summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void F16GraphsMatchTransformersAtTheF16Tolerance(string model)
    {
        foreach (bool f32Attention in new[] { false, true })
        {
            using var temp = new TempDir();
            Graph graph = WriteAndRead(temp, model, new LlmPrecision(DType.F16, f32Attention));
            Assert.Equal(DatumType.F16, graph.GetInputType("in_cache_key_0"));
            foreach (string mode in ReferenceGoldenTests.Modes)
            {
                foreach (OutputComparison o in Run(graph, model, mode))
                {
                    Assert.Equal("F16", o.ComparedAs.ToString());
                    if (model == "qwen3" && o.Name.StartsWith("out_cache_key_", StringComparison.Ordinal) && !o.Passed)
                    {
                        Assert.InRange(o.Outliers, 1, 2);
                        Assert.True(o.MaxAbsError < 5e-2, $"{o.Name} max abs {o.MaxAbsError}");
                        continue;
                    }

                    Assert.True(o.Passed, $"{model}/{mode}/f32attn={f32Attention} {o.Name}: {o.Outliers} outlier(s), max abs {o.MaxAbsError:G4}; {o.Detail}");
                }
            }
        }
    }

    [Fact]
    public void F16RotaryFrequenciesStayF32()
    {
        // The reference tool computed llama32's scaled frequencies in f16 and got NaN; ours are an f32 variable.
        Graph graph = Build("llama32", new LlmPrecision(DType.F16, true));
        Variable invFreq = graph.Variables.Values.Single(v => v.Label == "model.model.rotary_emb.inv_freq");
        Assert.Equal(DType.F32, invFreq.Source.DType);
    }

    /// <summary>Inputs, outputs, their types and shapes, symbols and assertions are the reference tool's.</summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void InterfaceEqualsTheReferenceExports(string model)
    {
        Check("export_f32", LlmPrecision.F32);
        if (model != "llama32")
        {
            Check("export_f16_f32attn_min_max_q4_0_all", new LlmPrecision(DType.F16, true));
        }

        void Check(string export, LlmPrecision precision)
        {
            Graph reference = NnefArchive.Read(Golden.File("llm", model, export, "model", "model.nnef.tgz"));
            Graph ours = Build(model, precision);
            Assert.Equal(reference.Inputs, ours.Inputs);
            Assert.Equal(reference.Outputs, ours.Outputs);
            foreach (string input in reference.Inputs)
            {
                Assert.Equal(reference.GetInputType(input), ours.GetInputType(input));
                Assert.Equal(reference.GetInputShape(input).Select(d => d.ToString()), ours.GetInputShape(input).Select(d => d.ToString()));
            }

            Assert.Equal(reference.Symbols, ours.Symbols);
            Assert.Equal(reference.Assertions, ours.Assertions);
        }
    }

    /// <summary>
    /// Every <c>.dat</c> of the Q4_0 reference exports whose label we also write is byte-identical: Q4_0 blocks
    /// (f32 arithmetic for <c>min_max_q4_0_with_embeddings</c>, f16 arithmetic after <c>-dt f16</c> for
    /// <c>min_max_q4_0_all</c>) and float weights alike; every quantized weight is among them. The one exception is by
    /// design: the f16 export's rotary frequencies, f32 in ours.
    /// </summary>
    [Theory]
    [MemberData(nameof(ModelsWithF16Golden))]
    public void Q40DatFilesAreByteIdenticalToTheReference(string model)
    {
        Check("export_min_max_q4_0_with_embeddings", LlmPrecision.F32, "min_max_q4_0_with_embeddings");
        Check("export_f16_f32attn_min_max_q4_0_all", new LlmPrecision(DType.F16, true), "min_max_q4_0_all");

        void Check(string export, LlmPrecision precision, string method)
        {
            using var temp = new TempDir();
            string dir = Write(temp, model, precision, CompressionRegistry.Default.Get(method), out List<string> quantized);
            {
                string referenceDir = Golden.File("llm", model, export, "model", "nnef");
                int compared = 0;
                foreach (string ours in Directory.GetFiles(dir, "*.dat"))
                {
                    string theirs = Path.Combine(referenceDir, Path.GetFileName(ours));
                    // In f16 the reference tool stores its rotary frequencies in f16 (llama32's became NaN); ours stay f32.
                    bool f16Frequencies = precision.IsHalf && Path.GetFileName(ours) == "model.model.rotary_emb.inv_freq.dat";
                    if (File.Exists(theirs) && !f16Frequencies)
                    {
                        Assert.True(File.ReadAllBytes(theirs).AsSpan().SequenceEqual(File.ReadAllBytes(ours)), $"{export}: {Path.GetFileName(ours)} differs");
                        compared++;
                    }
                }

                Assert.NotEmpty(quantized);
                Assert.All(quantized, label => Assert.True(File.Exists(Path.Combine(referenceDir, label + ".dat")), $"{label} not in the reference"));
                log.WriteLine($"{model}/{export}: {compared} .dat identical, {quantized.Count} Q4_0");
                Assert.True(compared >= quantized.Count);
            }
        }
    }

    // The graph only, for its interface and variables' types (its weights are not read after the checkpoint closes).
    private static Graph Build(string model, LlmPrecision precision)
    {
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(Golden.File("llm", model, "hf"));
        WeightPlan plan = WeightPlan.Create(checkpoint, precision.Weights, null);
        return DecoderGraphBuilder.Build(checkpoint.Architecture, plan, precision);
    }

    private static string Write(TempDir temp, string model, LlmPrecision precision, CompressionMethod? method, out List<string> quantized)
    {
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(Golden.File("llm", model, "hf"));
        WeightPlan plan = WeightPlan.Create(checkpoint, precision.Weights, method);
        quantized = [.. plan.Weights.Where(w => w.Quantized).Select(w => w.Label)];
        Graph graph = DecoderGraphBuilder.Build(checkpoint.Architecture, plan, precision);
        string dir = temp.File("nnef");
        NnefArchive.Write(graph, dir);
        return dir;
    }

    private static Graph WriteAndRead(TempDir temp, string model, LlmPrecision precision) =>
        NnefArchive.Read(Write(temp, model, precision, null, out _));

    private List<OutputComparison> Run(Graph graph, string model, string mode)
    {
        var bundle = IoBundle.ReadNpz(Golden.File("llm", model, "reference", $"hf_{mode}_io.npz"));
        VerificationReport report = GraphVerifier.Verify(graph, bundle, Approximation.Approximate);
        foreach (OutputComparison o in report.Outputs)
        {
            log.WriteLine($"{model}/{mode} {o.Name}: max abs {o.MaxAbsError:G3}, outliers {o.Outliers}/{o.Count}");
        }

        Assert.Equal(graph.Outputs.Count, report.Outputs.Count);
        return [.. report.Outputs];
    }
}
