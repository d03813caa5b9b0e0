using System.Diagnostics;
using System.Globalization;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Benchmarks.Streaming;

/// <summary>
/// The programs <c>bench/streaming-memory.sh</c> runs under <c>/usr/bin/time -v</c> to measure peak RSS and wall time
/// of streaming a multi-gigabyte model (issue 10, item 4). Not BenchmarkDotNet suites: one process per measurement,
/// because peak RSS is a property of the whole process.
/// <list type="bullet">
/// <item><c>gen-safetensors &lt;path&gt; &lt;GiB&gt;</c>: f16 tensors of 4096 x 4096 (32 MiB each), weight-like values.</item>
/// <item><c>gen-nnef-tgz &lt;path&gt; &lt;GiB&gt; [gzip level]</c>: an f32 NNEF model of chained 4096 x 4096 linear layers (64 MiB each).</item>
/// <item><c>copy-safetensors &lt;checkpoint&gt; &lt;out.nnef.tgz&gt;</c>: every tensor, unchanged, into an NNEF archive through
/// <see cref="SafetensorsTensorSource"/> (the measured program).</item>
/// </list>
/// </summary>
internal static class StreamingTools
{
    private const int Side = 4096;

    public static bool TryRun(string[] args)
    {
        switch (args)
        {
            case ["gen-safetensors", string path, string gib]:
                GenerateSafetensors(path, Count(gib, Side * Side * 2L));
                return true;
            case ["gen-nnef-tgz", string path, string gib, .. string[] rest]:
                GenerateNnef(path, Count(gib, Side * Side * 4L), rest.Length > 0 ? int.Parse(rest[0], CultureInfo.InvariantCulture) : 0);
                return true;
            case ["copy-safetensors", string checkpoint, string output]:
                Copy(checkpoint, output);
                return true;
            default:
                return false;
        }
    }

    private static int Count(string gib, long tensorBytes) =>
        (int)Math.Round(double.Parse(gib, CultureInfo.InvariantCulture) * (1L << 30) / tensorBytes);

    private static void GenerateSafetensors(string path, int tensors)
    {
        var sources = Enumerable.Range(0, tensors)
            .Select(i => ($"model.layers.{i}.weight", (TensorSource)new SyntheticWeights(DType.F16, Shape.Of(Side, Side), (ulong)i + 1)));
        SafetensorsWriter.Write(path, sources);
        Console.WriteLine($"wrote {path}: {tensors} f16 tensors of {Side} x {Side}, {new FileInfo(path).Length} bytes");
    }

    private static void GenerateNnef(string path, int layers, int level)
    {
        var graph = new Graph();
        graph.AddInput("x", DType.F32, [Dim.Of(1), Dim.Of(Side)]);
        string previous = "x";
        for (int l = 0; l < layers; l++)
        {
            graph.AddVariable($"w{l}", $"layers.{l}.weight", new SyntheticWeights(DType.F32, Shape.Of(Side, Side), (ulong)l + 1));
            graph.Nodes.Add(new Node("linear", $"h{l}").With(Arg.Ref(previous)).With(Arg.Ref($"w{l}")).With(Arg.Float(0)));
            previous = $"h{l}";
        }

        graph.Outputs.Add(previous);
        NnefArchive.Write(graph, path, new NnefWriteOptions { CompressionLevel = level });
        Console.WriteLine($"wrote {path}: {layers} f32 weights of {Side} x {Side}, gzip level {level}, {new FileInfo(path).Length} bytes");
    }

    private static void Copy(string checkpoint, string output)
    {
        var clock = Stopwatch.StartNew();
        using SafetensorsCheckpoint st = SafetensorsCheckpoint.Open(checkpoint);
        var graph = new Graph();
        foreach (SafetensorsEntry e in st.Entries)
        {
            string name = "v" + graph.Variables.Count.ToString(CultureInfo.InvariantCulture);
            graph.AddVariable(name, e.Name, st.GetSource(e.Name));
            graph.Outputs.Add(name);
        }

        NnefArchive.Write(graph, output);
        Console.WriteLine($"copied {st.Entries.Count} tensors ({st.Entries.Sum(e => e.ByteLength)} bytes) into {output} in {clock.Elapsed.TotalSeconds:F2} s");
    }
}
