using System.Text.Json.Nodes;
using TorchToNnef.Export.Llm;
using TorchToNnef.Export.Llm.Exporting;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Export.Tests.Llm;

/// <summary>The verification measures the process's allocations: no other test may run meanwhile.</summary>
[CollectionDefinition(nameof(LlmVerificationMemoryTests), DisableParallelization = true)]
public sealed class LlmVerificationMemoryCollection;

/// <summary>
/// The export's check-io holds memory independent of the model's depth: its four modes (reference pass and evaluator
/// run each) allocate about the same bytes for a deep model as for a shallow one of the same widths. It once
/// allocated every weight again on every run (the evaluator's Q4_0 panels, the reference pass's read windows): garbage
/// proportional to the model that the collector let pile up, so a 7B model's verification peaked at 797 MB RSS.
/// </summary>
[Collection(nameof(LlmVerificationMemoryTests))]
public class LlmVerificationMemoryTests(ITestOutputHelper output)
{
    private const int Hidden = 512;
    private const int Intermediate = 3072;
    private const int KvWidth = 128;

    [Fact]
    public void TheFourModesAllocateLessPerLayerThanHalfALayersWeights()
    {
        long shallow = VerificationAllocatedBytes(layers: 1);
        long deep = VerificationAllocatedBytes(layers: 4);
        long perLayer = (deep - shallow) / 3;

        // A layer's Q4_0 weights (q, k, v, o and the three MLP matrices, 18 bytes per 32 values). Reading them into
        // fresh storage in each of the four modes cost at least 4x this per layer (and as much again for the reference
        // pass's read windows); with storage reused, a layer's activations were still garbage: the evaluator's scratch
        // (f16 operands widened to f32, f32 products before their rounding) and the reference pass's activations,
        // about 1.0x a layer's weights at these widths and six tokens. Both now go back for the next layer; what is left
        // per layer (about 0.3x: the caches each mode hands out and small objects, not broken down further) passes.
        long layerWeights = ((2L * Hidden * Hidden) + (2L * Hidden * KvWidth) + (3L * Hidden * Intermediate)) * 18 / 32;
        output.WriteLine($"verification allocated {shallow:N0} B with 1 layer, {deep:N0} B with 4: {perLayer:N0} B per layer; a layer's Q4_0 weights are {layerWeights:N0} B");
        Assert.InRange(perLayer, 0, layerWeights / 2);
    }

    [Fact]
    public void TheFourModesAllocateNoMoreForALargerVocabularyThanOneStreamedBlock()
    {
        const int SmallVocab = 256;
        const int LargeVocab = 65536;
        long small = VerificationAllocatedBytes(layers: 1, vocab: SmallVocab);
        long large = VerificationAllocatedBytes(layers: 1, vocab: LargeVocab);

        // The embedding and the output head are the vocabulary-sized matrices: 65536 x 512 is 18.8 MB of Q4_0 each.
        // Laid whole as panels (as they were), either one alone grew the allocations by that, on top of the
        // vocabulary-sized vectors (the logits of the evaluator and of the reference pass, in f32 and f16, a few per
        // mode: about 9 MB here; 28.7 MB in all); read from the archive (rows for the gather, a block of rows at a
        // time for the product), the growth is one streamed block of panels (4.2 MB) plus those vectors (11.8 MB in all).
        long matrix = (long)(LargeVocab - SmallVocab) * Hidden * 18 / 32;
        output.WriteLine($"verification allocated {small:N0} B with a vocabulary of {SmallVocab}, {large:N0} B with {LargeVocab}: {large - small:N0} B more; one vocabulary matrix is {matrix:N0} B of Q4_0");
        Assert.InRange(large - small, 0, matrix);
    }

    // Bytes the process allocated between the verifier's set-up and the end of its last mode.
    private static long VerificationAllocatedBytes(int layers, int vocab = 256)
    {
        using var temp = new TempDir();
        JsonObject config = SyntheticModels.Config("llama");
        config["hidden_size"] = Hidden;
        config["intermediate_size"] = Intermediate;
        config["num_hidden_layers"] = layers;
        config["num_attention_heads"] = 8;
        config["num_key_value_heads"] = 2;
        config["head_dim"] = KvWidth / 2;
        config["vocab_size"] = vocab;
        string checkpointDir = SyntheticModels.Write(Path.Combine(temp.Path, "ckpt"), config, DType.F16, seed: 3);
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(checkpointDir);
        long start = 0;
        long end = 0;
        LlmExportResult result = LlmExporter.Export(checkpoint, new LlmExportOptions
        {
            ExportDirectory = Path.Combine(temp.Path, "out"),
            IdentityProperties = false,
            ForceDType = DType.F16,
            ForceF32Attention = true,
            Compression = CompressionRegistry.Default.Get("min_max_q4_0_all"),
            // One thread: with more, how many pool threads the evaluator's parallel loops borrow (each renting its own
            // read windows from the shared pool) depended on what ran before, and moved the count by several MB from
            // one whole-suite run to the next. The bounds are about what is allocated per layer and per vocabulary
            // row, which threads do not change.
            Threads = 1,
            VerificationPhaseDone = phase =>
            {
                if (phase == "open")
                {
                    start = GC.GetTotalAllocatedBytes(precise: true);
                }
                else if (phase == "export evaluator")
                {
                    end = GC.GetTotalAllocatedBytes(precise: true);
                }
            },
        });
        Assert.All(result.Checks, c => Assert.True(c.Passed));
        Assert.Equal(4, result.Checks.Count);
        Assert.True(start > 0 && end > start);
        return end - start;
    }
}
