using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Export.Tests;

/// <summary>The non-LLM golden exports evaluated against their PyTorch reference outputs.</summary>
public class GoldenExportTests(ITestOutputHelper log)
{
    [Theory]
    // Float exports differ from PyTorch only by summation order (a few f32 ulps of the outputs); the 8-bit PTQ
    // pipeline is integer arithmetic and must reproduce every code.
    [InlineData("export_cnn_f32", "input", "output", 2e-7)]
    [InlineData("export_cnn_q40", "input", "output", 2e-7)]
    [InlineData("export_mlp_q40", "ids", "logits", 1e-6)]
    [InlineData("export_ptq_conv1d_q8", "input", "output", 0.0)]
    public void GoldenExportReproducesTheReferenceOutput(string folder, string input, string output, double maxAbs)
    {
        Graph graph = NnefArchive.Read(Golden.File(folder, "model.nnef.tgz"));
        TensorValue x = IoBundle.ReadNpy(input, Golden.File(folder, InputFile(folder, input))).Value;
        TensorValue expected = IoBundle.ReadNpy(output, Golden.File(folder, $"output_{output}.npy")).Value;
        IReadOnlyList<NamedTensor> got = new GraphEvaluator(graph).Run([new NamedTensor(input, x)]);
        OutputComparison c = OutputComparison.Compare(output, expected, got[0].Value, Approximation.Approximate);
        log.WriteLine($"{folder}: max abs {c.MaxAbsError:R}, max rel {c.MaxRelError:R}, outliers {c.Outliers}/{c.Count}");
        Assert.True(c.Passed, c.Detail);
        Assert.True(c.MaxAbsError <= maxAbs, $"max abs error {c.MaxAbsError:R} above {maxAbs:R}");
    }

    private static string InputFile(string folder, string input) => folder == "export_mlp_q40" ? "input_ids.npy" : $"input_{input}.npy";
}
