using BenchmarkDotNet.Attributes;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// Writing and reading a 64 MiB NNEF model (16 linear weights of 1024 × 1024 f32, in memory) in each container.
/// Baseline: the directory writer, whose cost is the file system copy itself; the tar/tgz rows show what the
/// deterministic tar framing and gzip (level 0 = stored, torch_to_nnef's default, and level 6) add. Reads: the
/// directory (headers only, payloads stay mapped) and the tgz (streamed into memory).
/// </summary>
[MemoryDiagnoser]
public class NnefArchiveBenchmarks
{
    private const int Layers = 16;
    private const int Width = 1024;
    private readonly List<Tensor> _weights = [];
    private Graph _graph = null!;
    private string _dir = null!;

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "t2n-bench-nnef-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _graph = new Graph();
        _graph.AddInput("x", DType.F32, [Dim.Of(1), Dim.Of(Width)]);
        var rng = new Random(3);
        string previous = "x";
        for (int l = 0; l < Layers; l++)
        {
            float[] values = new float[Width * Width];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (float)(rng.NextDouble() - 0.5);
            }

            Tensor w = Tensor.FromFloats(Shape.Of(Width, Width), values);
            _weights.Add(w);
            _graph.AddVariable($"w{l}", $"layers.{l}.weight", TensorSource.FromTensor(w));
            _graph.Nodes.Add(new Node("linear", $"h{l}").With(Arg.Ref(previous)).With(Arg.Ref($"w{l}")).With(Arg.Float(0)));
            previous = $"h{l}";
        }

        _graph.Outputs.Add(previous);
        NnefArchive.Write(_graph, Path.Combine(_dir, "read"));
        NnefArchive.Write(_graph, Path.Combine(_dir, "read.nnef.tgz"));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _weights.ForEach(w => w.Dispose());
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public void WriteDirectory() => Write("out", 0);

    [Benchmark]
    public void WriteTgzStored() => Write("out.nnef.tgz", 0);

    [Benchmark]
    public void WriteTgzLevel6() => Write("out.nnef.tgz", 6);

    [Benchmark]
    public int ReadDirectory() => NnefArchive.Read(Path.Combine(_dir, "read")).Variables.Count;

    [Benchmark]
    public int ReadTgz() => NnefArchive.Read(Path.Combine(_dir, "read.nnef.tgz")).Variables.Count;

    private void Write(string name, int level) =>
        NnefArchive.Write(_graph, Path.Combine(_dir, name), new NnefWriteOptions { CompressionLevel = level, Overwrite = true });
}
