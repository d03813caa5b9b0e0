using BenchmarkDotNet.Attributes;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Numpy;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// The reference evaluator on a golden tiny LLM: a 12-token prompt (<c>tests/prompt_io.npz</c>, S = 12, P = 0) through
/// the f32, Q4_0 and f16/Q4_0 llama exports. Baseline: the same run on one thread.
/// </summary>
[MemoryDiagnoser]
public class EvaluatorBenchmarks
{
    private GraphEvaluator _parallel = null!;
    private GraphEvaluator _serial = null!;
    private List<NamedTensor> _inputs = null!;

    /// <summary>Which export of <c>llm/llama</c>.</summary>
    [Params("export_f32", "export_min_max_q4_0_with_embeddings", "export_f16_f32attn_min_max_q4_0_all")]
    public string Export { get; set; } = "export_f32";

    [GlobalSetup]
    public void Setup()
    {
        Graph graph = NnefArchive.Read(Golden.File("llm", "llama", Export, "model", "model.nnef.tgz"));
        _parallel = new GraphEvaluator(graph);
        _serial = new GraphEvaluator(graph, new EvaluationOptions { MaxDegreeOfParallelism = 1 });
        IReadOnlyList<(string Name, Tensor Tensor)> entries = NpzArchive.Read(Golden.File("llm", "llama", Export, "tests", "prompt_io.npz"));
        _inputs = entries.Where(e => _parallel.Inputs.Any(i => i.Name == e.Name)).Select(e => new NamedTensor(e.Name, TensorValue.FromTensor(e.Tensor, e.Name))).ToList();
        foreach ((_, Tensor t) in entries)
        {
            t.Dispose();
        }
    }

    [Benchmark(Baseline = true)]
    public IReadOnlyList<NamedTensor> Prompt12TokensOneThread() => _serial.Run(_inputs);

    [Benchmark]
    public IReadOnlyList<NamedTensor> Prompt12TokensAllCores() => _parallel.Run(_inputs);
}
