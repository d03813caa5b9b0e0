using TorchToNnef.Export.Compression;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Onnx;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.OnnxTestSupport;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.OnnxExport.Tests;

/// <summary>How an exported archive's output compares with ONNX Runtime's.</summary>
public sealed record OracleComparison(string Output, double MaxAbsError, double Cosine, float[] Expected, float[] Got);

/// <summary>
/// Exports an ONNX model, writes the archive to disk, reads it back and runs it with our evaluator on the same inputs
/// ONNX Runtime gets: what the exporter's tests compare.
/// </summary>
public static class OnnxExportHarness
{
    /// <summary>Deterministic inputs: uniform in [lo, hi) for floats.</summary>
    public static Tensor RandomFloats(int seed, long[] shape, float lo = 0, float hi = 1)
    {
        var rng = new Random(seed);
        long n = shape.Aggregate(1L, (a, b) => a * b);
        float[] v = new float[n];
        for (long i = 0; i < n; i++)
        {
            v[i] = lo + ((hi - lo) * rng.NextSingle());
        }

        return Tensor.FromFloats(new Shape(shape), v);
    }

    /// <summary>
    /// Exports <paramref name="modelPath"/> (with <paramref name="options"/>, compressed by <paramref name="compression"/>
    /// when given) into <paramref name="archive"/>, and returns the outputs of ONNX Runtime and of the re-read archive
    /// on <paramref name="inputs"/> (keyed by ONNX names).
    /// </summary>
    public static IReadOnlyList<OracleComparison> ExportAndCompare(
        string modelPath, IReadOnlyDictionary<string, Tensor> inputs, string archive, OnnxExportOptions? options = null, string? compression = null)
    {
        Dictionary<string, Tensor> expected = OnnxRuntimeOracle.Run(modelPath, inputs);
        OnnxExportResult result;
        using (OnnxModel model = OnnxModel.Load(modelPath))
        {
            result = OnnxExporter.Translate(model, options);
            Graph graph = result.Graph;
            if (compression is not null)
            {
                Assert.True(CompressionRegistry.Default.TryGet(compression, out CompressionMethod? method));
                graph = GraphCompressor.Compress(graph, method!).Graph;
            }

            NnefArchive.Write(graph, archive);
        }

        Graph reread = NnefArchive.Read(archive);
        var evaluator = new GraphEvaluator(reread);
        var byOnnx = result.Io.Inputs.ToDictionary(n => n.Onnx, n => n.Nnef, StringComparer.Ordinal);
        List<NamedTensor> fed = [.. inputs.Where(kv => byOnnx.ContainsKey(kv.Key)).Select(kv => new NamedTensor(byOnnx[kv.Key], TensorValue.FromTensor(kv.Value)))];
        IReadOnlyList<NamedTensor> got = evaluator.Run(fed);
        var gotByName = got.ToDictionary(t => t.Name, t => t.Value, StringComparer.Ordinal);
        var comparisons = new List<OracleComparison>();
        foreach (IoName output in result.Io.Outputs)
        {
            Tensor e = expected[output.Onnx];
            TensorValue g = gotByName[output.Nnef];
            Assert.Equal(e.Shape.Dims.ToArray().Select(d => (int)d), g.Shape.ToArray());
            float[] ef = e.ToFloatArray();
            float[] gf = g.ToFloats();
            comparisons.Add(new OracleComparison(output.Onnx, MaxAbs(ef, gf), Cosine(ef, gf), ef, gf));
        }

        return comparisons;
    }

    /// <summary>tract's <c>approximate</c> check (<c>|e - g| &lt;= 1e-4 + 5e-4·|g|</c> everywhere); returns the first failure.</summary>
    public static string? Approximate(float[] expected, float[] got, double atol = 1e-4, double rtol = 5e-4)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (!(Math.Abs(expected[i] - got[i]) <= atol + (rtol * Math.Abs(got[i]))))
            {
                return $"element {i}: expected {expected[i]}, got {got[i]}";
            }
        }

        return null;
    }

    public static double MaxAbs(float[] a, float[] b)
    {
        double m = 0;
        for (int i = 0; i < a.Length; i++)
        {
            m = Math.Max(m, Math.Abs((double)a[i] - b[i]));
        }

        return m;
    }

    public static double Cosine(float[] a, float[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            ab += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
        }

        return aa == 0 && bb == 0 ? 1 : ab / Math.Sqrt(aa * bb);
    }
}
