using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using TorchToNnef.Export.Compression;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Onnx;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Ir;
using TorchToNnef.OnnxTestSupport;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// <c>onnx-models [--runs N] [id or path.onnx ...]</c>: for each real model of <c>.ci/real-models.tsv</c> (cached by
/// <c>.ci/fetch-models</c>): export time (median of 5 after a warm-up, translation + writing the f32 archive), archive
/// size in f32 and with <c>min_max_q4_0</c> / <c>min_max_q4_0_all</c>, then our evaluator on the f32 archive and ONNX
/// Runtime (both one thread; ORT with its default graph optimizations) on the same input, runs interleaved, median
/// times and their ratio, and the max error and cosine of our output against ONNX Runtime's.
/// </summary>
internal static class OnnxModelsRun
{
    /// <summary>
    /// Benchmark shape of an input with symbolic dimensions: the detector at the 640x640 of the ORT figure, every
    /// other model at its test shape (<see cref="RealModelInputs.TestShape"/>).
    /// </summary>
    public static long[]? BenchShape(string id, string input) =>
        id == "ch_PP-OCRv4_det_infer" ? [1, 3, 640, 640] : RealModelInputs.TestShape(id, input);

    private const int WarmUpRuns = 50;

    private static readonly TimeSpan WarmUpTime = TimeSpan.FromSeconds(1);

    public static void Run(string[] args)
    {
        int runs = 10;
        var ids = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--runs")
            {
                runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
            }
            else
            {
                ids.Add(args[i]);
            }
        }

        if (ids.Count == 0)
        {
            ids.AddRange(RealModels.All.Select(m => m.Id));
        }

        Console.WriteLine($"ONNX Runtime {OnnxRuntimeOracle.Version}, one thread each; warm-up of {WarmUpRuns} runs and at least {WarmUpTime.TotalSeconds:F0} s, then {runs} interleaved runs per model (medians)");
        Console.WriteLine("model | ops used | export ms | archive f32 | Q40 (linear) | Q40 (all) | evaluator ms | ORT ms | ratio | max |err| | cosine");
        foreach (string id in ids)
        {
            Measure(id, runs);
        }
    }

    private static void Measure(string id, int runs)
    {
        // A path to an .onnx file measures a model outside .ci/real-models.tsv (bench/onnx-extra-models.sh), named by
        // its file stem for RealModelInputs.
        string path = id.EndsWith(".onnx", StringComparison.Ordinal) ? Path.GetFullPath(id) : RealModels.Get(id);
        id = id.EndsWith(".onnx", StringComparison.Ordinal) ? Path.GetFileNameWithoutExtension(id) : id;
        string dir = Path.Combine(Path.GetTempPath(), $"t2n-onnx-models-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            Dictionary<string, IReadOnlyList<long>> shapes;
            Dictionary<string, Tensor> frozen;
            Dictionary<string, IReadOnlyList<double>> frozenValues;
            string ops;
            using (OnnxModel model = OnnxModel.Load(path))
            {
                shapes = RealModelInputs.Shapes(id, model, BenchShape).ToDictionary(kv => kv.Key, kv => (IReadOnlyList<long>)kv.Value, StringComparer.Ordinal);
                frozen = RealModelInputs.FrozenTensors(id, model);
                frozenValues = RealModelInputs.FrozenOf(id, model);
                ops = string.Join(" ", model.Graph.OperatorHistogram().Keys.Where(k => k != "Constant"));
            }

            var options = new OnnxExportOptions { InputShapes = shapes, InputValues = frozenValues };
            string f32 = Path.Combine(dir, "f32.nnef.tgz");
            var times = new List<double>();
            for (int i = 0; i < 6; i++)
            {
                var clock = Stopwatch.StartNew();
                using OnnxModel model = OnnxModel.Load(path);
                NnefArchive.Write(OnnxExporter.Translate(model, options).Graph, f32);
                times.Add(clock.Elapsed.TotalMilliseconds);
                File.Delete(f32);
            }

            double exportMs = Median(times.Skip(1));
            long f32Size = Export(path, options, null, f32);
            long q40Linear = Export(path, options, "min_max_q4_0", Path.Combine(dir, "q1.nnef.tgz"));
            long q40All = Export(path, options, "min_max_q4_0_all", Path.Combine(dir, "q2.nnef.tgz"));

            var rng = new Random(1);
            var inputs = shapes.ToDictionary(kv => kv.Key, kv =>
            {
                long n = kv.Value.Aggregate(1L, (a, b) => a * b);
                return Tensor.FromFloats(new Shape([.. kv.Value]), [.. Enumerable.Range(0, (int)n).Select(_ => (rng.NextSingle() * 2) - 1)]);
            }, StringComparer.Ordinal);

            Graph graph = NnefArchive.Read(f32);
            OnnxIoRecord io = OnnxIoRecord.ReadFrom(graph)!;
            var evaluator = new GraphEvaluator(graph, new EvaluationOptions { MaxDegreeOfParallelism = 1 });
            List<NamedTensor> fed = [.. io.Inputs.Select(n => new NamedTensor(n.Nnef, TensorValue.FromTensor(inputs[n.Onnx])))];

            using var sessionOptions = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
            using var session = new InferenceSession(path, sessionOptions);
            Func<float[]> ort = OrtRunner(session, inputs, frozen);
            float[] ours = evaluator.Run(fed).First(o => o.Name == io.Outputs[0].Nnef).Value.ToFloats();
            float[] reference = ort();
            // Steady state for both sides: the JIT promotes hot methods only after ~30 calls and a quiet 100 ms, so a
            // small model timed from its second run measures unoptimized code against ORT's native kernels.
            var warmUp = Stopwatch.StartNew();
            for (int r = 0; r < WarmUpRuns || warmUp.Elapsed < WarmUpTime; r++)
            {
                evaluator.Run(fed);
                ort();
            }

            var evalTimes = new List<double>();
            var ortTimes = new List<double>();
            for (int r = 0; r < runs; r++)
            {
                var clock = Stopwatch.StartNew();
                evaluator.Run(fed);
                evalTimes.Add(clock.Elapsed.TotalMilliseconds);
                clock.Restart();
                ort();
                ortTimes.Add(clock.Elapsed.TotalMilliseconds);
            }

            double e = Median(evalTimes);
            double o = Median(ortTimes);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{id} | {ops} | {exportMs:F0} | {f32Size / 1024.0:F0} KiB | {q40Linear / 1024.0:F0} KiB | {q40All / 1024.0:F0} KiB | {e:F3} | {o:F3} | {e / o:F2}x | {MaxAbs(reference, ours):E2} | {Cosine(reference, ours):F7}"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static long Export(string path, OnnxExportOptions options, string? method, string archive)
    {
        using OnnxModel model = OnnxModel.Load(path);
        Graph graph = OnnxExporter.Translate(model, options).Graph;
        if (method is not null)
        {
            graph = GraphCompressor.Compress(graph, CompressionRegistry.Default.Get(method)).Graph;
        }

        NnefArchive.Write(graph, archive);
        return new FileInfo(archive).Length;
    }

    private static Func<float[]> OrtRunner(InferenceSession session, Dictionary<string, Tensor> inputs, Dictionary<string, Tensor> frozen)
    {
        var values = inputs.ToDictionary(kv => kv.Key, kv => OrtValue.CreateTensorValueFromMemory(kv.Value.ToFloatArray(), kv.Value.Shape.Dims.ToArray()), StringComparer.Ordinal);
        foreach ((string name, Tensor t) in frozen)
        {
            // Frozen inputs (silero's sample rate) are i64 scalars: ORT gets the value the archive was frozen to.
            values[name] = t.DType == DType.I64
                ? OrtValue.CreateTensorValueFromMemory(t.AsSpan<long>().ToArray(), t.Shape.Dims.ToArray())
                : OrtValue.CreateTensorValueFromMemory(t.ToFloatArray(), t.Shape.Dims.ToArray());
        }

        string output = session.OutputNames[0];
        return () =>
        {
            using var runOptions = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> results = session.Run(runOptions, values, [output]);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        };
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] v = [.. values.Order()];
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[(v.Length / 2) - 1] + v[v.Length / 2]) / 2;
    }

    private static double MaxAbs(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs((double)p.First - p.Second));

    private static double Cosine(float[] a, float[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            ab += (double)a[i] * b[i];
            aa += (double)a[i] * a[i];
            bb += (double)b[i] * b[i];
        }

        return ab / Math.Sqrt(aa * bb);
    }
}
