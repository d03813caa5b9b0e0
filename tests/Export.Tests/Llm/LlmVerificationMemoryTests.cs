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
    public void TheFourModesAllocateLessPerLayerThanTwiceALayersWeights()
    {
        long shallow = VerificationAllocatedBytes(layers: 1);
        long deep = VerificationAllocatedBytes(layers: 4);
        long perLayer = (deep - shallow) / 3;

        // A layer's Q4_0 weights (q, k, v, o and the three MLP matrices, 18 bytes per 32 values). Reading them into
        // fresh storage in each of the four modes costs at least 4x this per layer (and as much again for the reference
        // pass's read windows); reusing storage leaves a layer's activations, caches and the kernels' scratch
        // (short-lived, about 0.7x at these widths and six tokens).
        long layerWeights = ((2L * Hidden * Hidden) + (2L * Hidden * KvWidth) + (3L * Hidden * Intermediate)) * 18 / 32;
        output.WriteLine($"verification allocated {shallow:N0} B with 1 layer, {deep:N0} B with 4: {perLayer:N0} B per layer; a layer's Q4_0 weights are {layerWeights:N0} B");
        Assert.InRange(perLayer, 0, 2 * layerWeights);
    }

    // Bytes the process allocated between the verifier's set-up and the end of its last mode.
    private static long VerificationAllocatedBytes(int layers)
    {
        using var temp = new TempDir();
        JsonObject config = SyntheticModels.Config("llama");
        config["hidden_size"] = Hidden;
        config["intermediate_size"] = Intermediate;
        config["num_hidden_layers"] = layers;
        config["num_attention_heads"] = 8;
        config["num_key_value_heads"] = 2;
        config["head_dim"] = KvWidth / 2;
        config["vocab_size"] = 256;
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
