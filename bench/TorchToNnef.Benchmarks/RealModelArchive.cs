using System.Globalization;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Onnx;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Ir;
using TorchToNnef.OnnxTestSupport;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// One real model as <c>onnx-loop</c> and <c>onnx-profile</c> run it: translated at its benchmark shapes with its frozen
/// inputs (<see cref="RealModelInputs"/>), written as an f32 archive, read back from disk (so the graph is what a user's
/// archive holds), and fed seeded random inputs in [-1, 1).
/// </summary>
internal static class RealModelArchive
{
    /// <summary>The archive's graph and its inputs; <paramref name="dump"/>, when given, also receives the translated graph as written.</summary>
    public static (Graph Graph, List<NamedTensor> Inputs) Load(string id, string? dump = null)
    {
        string path = RealModels.Get(id);
        string archive = Path.Combine(Path.GetTempPath(), $"t2n-real-model-{Environment.ProcessId}.nnef.tgz");
        Graph graph;
        Dictionary<string, IReadOnlyList<long>> shapes;
        try
        {
            using (OnnxModel model = OnnxModel.Load(path))
            {
                shapes = RealModelInputs.Shapes(id, model, OnnxModelsRun.BenchShape).ToDictionary(kv => kv.Key, kv => (IReadOnlyList<long>)kv.Value, StringComparer.Ordinal);
                var options = new OnnxExportOptions { InputShapes = shapes, InputValues = RealModelInputs.FrozenOf(id, model) };
                Graph translated = OnnxExporter.Translate(model, options).Graph;
                NnefArchive.Write(translated, archive);
                if (dump is not null)
                {
                    NnefArchive.Write(translated, dump);
                }
            }

            graph = NnefArchive.Read(archive);
        }
        finally
        {
            File.Delete(archive);
        }

        OnnxIoRecord io = OnnxIoRecord.ReadFrom(graph)!;
        var rng = new Random(1);
        List<NamedTensor> fed = [.. io.Inputs.Select(n =>
        {
            int[] dims = [.. shapes[n.Onnx].Select(d => (int)d)];
            float[] values = [.. Enumerable.Range(0, dims.Aggregate(1, (a, b) => a * b)).Select(_ => (rng.NextSingle() * 2) - 1)];
            return new NamedTensor(n.Nnef, TensorValue.F32(dims, values));
        })];
        return (graph, fed);
    }

    /// <summary>CPU time of the calling thread (Linux: first field of <c>/proc/thread-self/schedstat</c>, in ns); 0 elsewhere.</summary>
    public static long ThreadCpuNanoseconds()
    {
        try
        {
            string text = File.ReadAllText("/proc/thread-self/schedstat");
            return long.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
