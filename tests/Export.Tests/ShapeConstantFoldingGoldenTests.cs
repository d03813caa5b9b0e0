using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Export.Tests;

/// <summary>Folding the shape computations of a golden LLM export changes no output bit, and the folded graph still types.</summary>
public class ShapeConstantFoldingGoldenTests
{
    public static TheoryData<string, string> Cases() => GoldenLlmTests.Cases();

    [Theory]
    [MemberData(nameof(Cases))]
    public void FoldedGraphComputesTheSameOutputs(string model, string export)
    {
        Graph original = NnefArchive.Read(Golden.File("llm", model, export, "model", "model.nnef.tgz"));
        Graph folded = original.Clone();
        int replaced = ShapeConstantFolding.Run(folded);
        Assert.True(replaced > 0);
        Assert.True(folded.Nodes.Count < original.Nodes.Count);
        GraphValidator.Validate(folded);

        foreach (string mode in new[] { "prompt_with_past", "text_generation" })
        {
            List<NamedTensor> inputs = [.. IoBundle.ReadNpz(Golden.File("llm", model, export, "tests", $"{mode}_io.npz")).Where(t => original.Inputs.Contains(t.Name))];
            IReadOnlyList<NamedTensor> expected = new GraphEvaluator(original).Run(inputs);
            IReadOnlyList<NamedTensor> got = new GraphEvaluator(folded).Run(inputs);
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Value.ToString(), got[i].Value.ToString());
                Assert.True(GraphAssert.SameBytes(TensorSource.FromTensor(expected[i].Value.ToTensor()), TensorSource.FromTensor(got[i].Value.ToTensor())), $"{mode}: {expected[i].Name} differs");
            }

            ShapeInferenceGoldenTests.CheckRun(folded, ShapeInference.Run(folded), inputs, $"{model}/{export}/{mode} folded");
        }
    }
}
