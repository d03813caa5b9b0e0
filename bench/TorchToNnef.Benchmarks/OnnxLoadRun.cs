using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Tensors;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// <c>onnx-load [--synthetic-mb N [--external]] [model.onnx ...]</c>: loads each ONNX model, then streams every stored
/// tensor (initializers and Constant values) through 1 MiB positional reads, and prints the load time, the read
/// time and the peak RSS (VmHWM, reset before each model) next to the file size (after one untimed warm-up load). With <c>--synthetic-mb</c> it first
/// writes a model holding N MiB of f32 weights (inline raw_data, or with <c>--external</c> an external data file,
/// which may exceed 2 GiB) to a temporary folder, checks the streamed bytes against what it wrote, and deletes it.
/// </summary>
internal static class OnnxLoadRun
{
    private const int TensorMiB = 64;

    public static void Run(string[] args)
    {
        var paths = args.Where(a => a.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)).ToList();
        string? synthetic = BenchArgs.Option(args, "--synthetic-mb");
        string? dir = null;
        long expectedSum = 0;
        if (synthetic is not null)
        {
            dir = Path.Combine(Path.GetTempPath(), "t2n-onnx-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(dir);
            var clock = Stopwatch.StartNew();
            (string path, expectedSum) = WriteSynthetic(dir, int.Parse(synthetic, CultureInfo.InvariantCulture), args.Contains("--external"));
            Console.WriteLine($"wrote {path} in {clock.Elapsed.TotalSeconds:F1} s");
            paths.Insert(0, path);
        }

        try
        {
            // One untimed load of a small model first, so the first figure is not the JIT compiling the loader.
            string warm = paths.OrderBy(p => new FileInfo(p).Length).First();
            OnnxModel.Load(warm).Dispose();
            foreach (string path in paths)
            {
                Measure(path, synthetic is not null && path == paths[0] ? expectedSum : null);
            }
        }
        finally
        {
            if (dir is not null)
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static void Measure(string path, long? expectedSum)
    {
        GC.Collect();
        ProcessStats.ResetPeak();
        double before = ProcessStats.CurrentMb();
        var clock = Stopwatch.StartNew();
        using OnnxModel model = OnnxModel.Load(path);
        double loadMs = clock.Elapsed.TotalMilliseconds;
        double afterLoad = ProcessStats.PeakMb();

        clock.Restart();
        List<OnnxTensor> tensors = [.. model.Graph.InitializerList, .. model.Graph.Nodes.Where(n => n.OpType == "Constant").Select(OnnxConstants.Value)];
        long bytes = 0, sum = 0;
        byte[] window = ArrayPool<byte>.Shared.Rent(1 << 20);
        foreach (OnnxTensor t in tensors)
        {
            using Tensor tensor = t.Open();
            for (long offset = 0; offset < tensor.ByteLength; offset += window.Length)
            {
                int n = (int)Math.Min(window.Length, tensor.ByteLength - offset);
                tensor.Data.Read(offset, window.AsSpan(0, n));
                for (int i = 0; i < n; i += 4096)
                {
                    sum += window[i];
                }
            }

            bytes += tensor.ByteLength;
        }

        ArrayPool<byte>.Shared.Return(window);
        double readMs = clock.Elapsed.TotalMilliseconds;
        long external = tensors.Where(t => t.ExternalPath is not null).Select(t => t.ExternalPath!).Distinct().Sum(p => new FileInfo(p).Length);
        Console.WriteLine(
            $"{Path.GetFileName(path)}: file {model.FileLength / 1048576.0:F1} MiB + external {external / 1048576.0:F1} MiB, {model.Graph.Nodes.Count} nodes, " +
            $"{tensors.Count} tensors ({bytes / 1048576.0:F1} MiB); load {loadMs:F1} ms (peak RSS {afterLoad:F0} MB, {afterLoad - before:+0;-0} MB over the " +
            $"{before:F0} MB before); streaming every tensor {readMs:F0} ms; peak RSS after both {ProcessStats.PeakMb():F0} MB");
        if (expectedSum is { } e && e != sum)
        {
            throw new InvalidOperationException($"streamed bytes differ from those written (sampled sum {sum} vs {e})");
        }
    }

    /// <summary>Writes ModelProto{ir 8, graph{Identity(w0) -> y, initializers w0..wk}, opset 13} field by field, streaming the payloads.</summary>
    private static (string Path, long SampledSum) WriteSynthetic(string dir, int totalMiB, bool external)
    {
        int count = Math.Max(1, totalMiB / TensorMiB);
        long tensorBytes = (long)Math.Min(totalMiB, TensorMiB) << 20;
        string path = Path.Combine(dir, external ? "synthetic-external.onnx" : "synthetic.onnx");
        string dataName = "weights.bin";
        var initializers = new List<byte[]>(count);
        for (int i = 0; i < count; i++)
        {
            var t = new List<byte>();
            t.AddRange(Varint(1, tensorBytes / 4));
            t.AddRange(Varint(2, 1));
            t.AddRange(Text(8, "w" + i.ToString(CultureInfo.InvariantCulture)));
            t.AddRange(InitializerData(external, dataName, i * tensorBytes, tensorBytes));

            initializers.Add([.. t]);
        }

        byte[] node = Bytes(1, [.. Text(1, "w0"), .. Text(2, "y"), .. Text(4, "Identity")]);
        byte[] output = Bytes(12, [.. Text(1, "y"), .. Bytes(2, Bytes(1, [.. Varint(1, 1), .. Bytes(2, Bytes(1, Varint(1, tensorBytes / 4)))]))]);
        long payloadInGraph = external ? 0 : tensorBytes;
        long graphLength = node.Length + output.Length + initializers.Sum(t => (long)Tag(5, 2).Length + VarintBytes((ulong)(t.Length + payloadInGraph)).Length + t.Length + payloadInGraph);
        long sampled = 0;
        byte[] chunk = new byte[1 << 20];
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
        using (FileStream? data = external ? new FileStream(Path.Combine(dir, dataName), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20) : null)
        {
            file.Write(Varint(1, 8));
            file.Write(Tag(7, 2));
            file.Write(VarintBytes((ulong)graphLength));
            file.Write(node);
            for (int i = 0; i < count; i++)
            {
                file.Write(Tag(5, 2));
                file.Write(VarintBytes((ulong)(initializers[i].Length + payloadInGraph)));
                file.Write(initializers[i]);
                Stream target = data ?? (Stream)file;
                for (long written = 0; written < tensorBytes; written += chunk.Length)
                {
                    float seed = i + written / (float)tensorBytes;
                    Span<float> floats = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(chunk.AsSpan());
                    for (int k = 0; k < floats.Length; k++)
                    {
                        floats[k] = seed + k * 1e-6f;
                    }

                    for (int k = 0; k < chunk.Length; k += 4096)
                    {
                        sampled += chunk[k];
                    }

                    target.Write(chunk);
                }
            }

            file.Write(output);
            file.Write(Bytes(8, [.. Text(1, ""), .. Varint(2, 13)]));
        }

        return (path, sampled);
    }

    // Where an initializer's tensorBytes bytes are: in the external file `location` at `offset` (data_location
    // EXTERNAL), or in raw_data, whose length prefix this writes and whose bytes the caller appends.
    internal static byte[] InitializerData(bool external, string location, long offset, long tensorBytes) => external
        ? [.. Bytes(13, [.. Text(1, "location"), .. Text(2, location)]),
            .. Bytes(13, [.. Text(1, "offset"), .. Text(2, offset.ToString(CultureInfo.InvariantCulture))]),
            .. Bytes(13, [.. Text(1, "length"), .. Text(2, tensorBytes.ToString(CultureInfo.InvariantCulture))]),
            .. Varint(14, 1)]
        : [.. Tag(9, 2), .. VarintBytes((ulong)tensorBytes)];

    internal static byte[] Tag(int field, int wire) => VarintBytes((ulong)(field << 3 | wire));

    internal static byte[] Varint(int field, long value) => [.. Tag(field, 0), .. VarintBytes((ulong)value)];

    internal static byte[] Text(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    internal static byte[] Bytes(int field, byte[] value) => [.. Tag(field, 2), .. VarintBytes((ulong)value.Length), .. value];

    internal static byte[] VarintBytes(ulong v)
    {
        var bytes = new List<byte>(10);
        do
        {
            byte b = (byte)(v & 0x7F);
            v >>= 7;
            bytes.Add(v == 0 ? b : (byte)(b | 0x80));
        }
        while (v != 0);
        return [.. bytes];
    }
}
