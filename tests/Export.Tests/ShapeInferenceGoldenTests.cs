using System.Collections.Concurrent;
using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// The oracle for shape inference: on every golden graph run on its golden inputs, the statically inferred type and
/// shape of every value the evaluator computes (in the graph body and inside every fragment invocation) is the type
/// and the shape the evaluator actually produces, with the symbols bound to the sizes of the fed inputs.
/// </summary>
public class ShapeInferenceGoldenTests(ITestOutputHelper log)
{
    private static readonly string[] Models = ["llama", "llama_tied", "llama32", "phi3", "qwen2", "qwen3"];
    private static readonly string[] Exports = ["export_f32", "export_min_max_q4_0_with_embeddings", "export_f16_f32attn_min_max_q4_0_all"];
    private static readonly string[] Modes = ["export", "prompt", "prompt_with_past", "text_generation"];

    public static TheoryData<string, string> LlmCases() => GoldenLlmTests.Cases();

    [Theory]
    [MemberData(nameof(LlmCases))]
    public void EveryValueOfAnLlmExportHasItsInferredTypeInEveryMode(string model, string export)
    {
        Graph graph = NnefArchive.Read(Golden.File("llm", model, export, "model", "model.nnef.tgz"));
        GraphTypes types = ShapeInference.Run(graph);
        // The cache grows by the prompt: its length is the symbolic P+S, checked below at four (S, P) bindings.
        Assert.Equal([Dim.Of(1), types["in_cache_key_0"].Shape[1], Dim.Parse("P+S"), types["in_cache_key_0"].Shape[3]], types["out_cache_key_0"].Shape);
        int checkedValues = 0;
        int checkedContents = 0;
        foreach (string mode in Modes)
        {
            IReadOnlyList<NamedTensor> bundle = IoBundle.ReadNpz(Golden.File("llm", model, export, "tests", $"{mode}_io.npz"));
            (int values, int contents) = CheckRun(graph, types, [.. bundle.Where(t => graph.Inputs.Contains(t.Name))], $"{model}/{export}/{mode}");
            checkedValues += values;
            checkedContents += contents;
        }

        log.WriteLine($"{model}/{export}: {types.AllValues.Count} typed values; over 4 runs {checkedValues} types and shapes checked, {checkedContents} known contents checked");
    }

    [Theory]
    [InlineData("export_cnn_f32", "input", "input_input.npy")]
    [InlineData("export_cnn_q40", "input", "input_input.npy")]
    [InlineData("export_mlp_q40", "ids", "input_ids.npy")]
    [InlineData("export_ptq_conv1d_q8", "input", "input_input.npy")]
    public void EveryValueOfAGoldenExportHasItsInferredType(string folder, string input, string file)
    {
        Graph graph = NnefArchive.Read(Golden.File(folder, "nnef"));
        GraphTypes types = ShapeInference.Run(graph);
        (int n, int contents) = CheckRun(graph, types, [IoBundle.ReadNpy(input, Golden.File(folder, file))], folder);
        log.WriteLine($"{folder}: {types.AllValues.Count} typed values, {n} types and shapes checked, {contents} known contents checked");
    }

    [Fact]
    public void TheKhronosExportsBroadcastMistakeIsFoundStatically()
    {
        // ops-in-goldens.md §5: tract cannot load this export, its batch-norm parameters are unsqueezed to [1, 1, 1, C]
        // and do not broadcast against [N, C, H, W]. Inference names the statement inside the stdlib fragment.
        Graph graph = NnefArchive.Read(Golden.File("export_cnn_f32", "khronos"));
        var e = Assert.Throws<InvalidGraphException>(() => ShapeInference.Run(graph));
        Assert.StartsWith("bn1__input_batch_norm0 (batch_normalization) > ", e.TensorName, StringComparison.Ordinal);
        Assert.Contains("[1, 8, 16, 16] and [1, 1, 1, 8] do not broadcast", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Runs the graph, checks every computed value against its inferred type and known contents; returns how many were checked.</summary>
    internal static (int Values, int Contents) CheckRun(Graph graph, GraphTypes types, IReadOnlyList<NamedTensor> inputs, string what)
    {
        var computed = new ConcurrentDictionary<string, TensorValue>(StringComparer.Ordinal);
        var evaluator = new GraphEvaluator(graph, new EvaluationOptions { ValueComputed = (path, v) => computed[path] = v });
        evaluator.Run(inputs);

        // Symbols take the sizes of the fed inputs, as the evaluator binds them.
        var symbols = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (GraphInput declared in evaluator.Inputs)
        {
            TensorValue fed = inputs.First(i => i.Name == declared.Name).Value;
            for (int axis = 0; axis < declared.Shape.Count; axis++)
            {
                if (declared.Shape[axis].TryGetSymbol(out string s))
                {
                    symbols[s] = fed.Shape[axis];
                }
            }
        }

        Assert.NotEmpty(computed);
        foreach ((string path, TensorValue value) in computed)
        {
            Assert.True(types.AllValues.TryGetValue(path, out TensorType? type), $"{what}: '{path}' was computed but has no inferred type");
            long[] inferred = type!.Evaluate(symbols);
            Assert.True(
                type.Type == value.Type && inferred.SequenceEqual(value.Shape.ToArray().Select(d => (long)d)),
                $"{what}: '{path}' is inferred {type} = {type.Type}[{string.Join(", ", inferred)}] but computed {value}");
        }

        // Integer contents known statically (shapes and the arithmetic on them) are the computed ones.
        int contents = 0;
        foreach ((string path, TensorValue value) in computed)
        {
            if (types.KnownValuesAt(path) is IReadOnlyList<Dim> known)
            {
                long[] actual = value.Type.Kind == DatumKind.Bool
                    ? [.. value.Span<bool>().ToArray().Select(b => b ? 1L : 0L)]
                    : Cast.ToLongs(value);
                Assert.True(
                    known.Select(d => d.Evaluate(symbols)).SequenceEqual(actual),
                    $"{what}: '{path}' is inferred to hold [{string.Join(", ", known)}] but holds [{string.Join(", ", actual)}]");
                contents++;
            }
        }

        Assert.True(contents > 0 || graph.Nodes.Count < 60, $"{what}: no value has known contents");

        // And nothing was inferred that the run does not compute.
        Assert.Equal(computed.Count, types.AllValues.Count);
        return (computed.Count, contents);
    }
}
