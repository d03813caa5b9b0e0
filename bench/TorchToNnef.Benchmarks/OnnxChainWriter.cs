using System.Globalization;
using System.Runtime.InteropServices;
using static TorchToNnef.Benchmarks.OnnxLoadRun;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// <c>gen-onnx-chain DIR MIB [--external]</c>: writes <c>DIR/chain.onnx</c>, <c>y = x · W0 · W1 · ...</c> with
/// <c>x</c> f32 <c>[1, 4096]</c> and MIB / 64 weights of f32 <c>[4096, 4096]</c> (64 MiB each, deterministic values,
/// inline <c>raw_data</c> or with <c>--external</c> in <c>DIR/chain.bin</c>), streamed to disk a MiB at a time: a large
/// model every weight of which the export must write, for <c>scripts/export-peak-rss.sh</c>.
/// </summary>
internal static class OnnxChainWriter
{
    private const int Width = 4096;

    public static void Run(string[] args)
    {
        if (args.Length < 2)
        {
            throw new ArgumentException("usage: gen-onnx-chain DIR MIB [--external]");
        }

        string dir = args[0];
        int count = Math.Max(1, int.Parse(args[1], CultureInfo.InvariantCulture) / 64);
        bool external = args.Contains("--external");
        Directory.CreateDirectory(dir);
        long tensorBytes = (long)Width * Width * 4;
        var nodes = new List<byte[]>();
        var initializers = new List<byte[]>();
        for (int i = 0; i < count; i++)
        {
            string input = i == 0 ? "x" : "h" + (i - 1).ToString(CultureInfo.InvariantCulture);
            string output = i == count - 1 ? "y" : "h" + i.ToString(CultureInfo.InvariantCulture);
            string weight = "w" + i.ToString(CultureInfo.InvariantCulture);
            nodes.Add(Bytes(1, [.. Text(1, input), .. Text(1, weight), .. Text(2, output), .. Text(3, "matmul_" + i.ToString(CultureInfo.InvariantCulture)), .. Text(4, "MatMul")]));
            List<byte> t = [.. Varint(1, Width), .. Varint(1, Width), .. Varint(2, 1), .. Text(8, weight)];
            t.AddRange(InitializerData(external, "chain.bin", i * tensorBytes, tensorBytes));

            initializers.Add([.. t]);
        }

        byte[] Io(int field, string name) =>
            Bytes(field, [.. Text(1, name), .. Bytes(2, Bytes(1, [.. Varint(1, 1), .. Bytes(2, [.. Bytes(1, Varint(1, 1)), .. Bytes(1, Varint(1, Width))])]))]);
        byte[] inputs = Io(11, "x");
        byte[] outputs = Io(12, "y");
        long inline = external ? 0 : tensorBytes;
        long graphLength = nodes.Sum(n => (long)n.Length) + inputs.Length + outputs.Length
            + initializers.Sum(t => (long)Tag(5, 2).Length + VarintBytes((ulong)(t.Length + inline)).Length + t.Length + inline);
        byte[] chunk = new byte[1 << 20];
        using var file = new FileStream(Path.Combine(dir, "chain.onnx"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using FileStream? data = external ? new FileStream(Path.Combine(dir, "chain.bin"), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20) : null;
        file.Write(Varint(1, 8));
        file.Write(Tag(7, 2));
        file.Write(VarintBytes((ulong)graphLength));
        nodes.ForEach(n => file.Write(n));
        for (int i = 0; i < count; i++)
        {
            file.Write(Tag(5, 2));
            file.Write(VarintBytes((ulong)(initializers[i].Length + inline)));
            file.Write(initializers[i]);
            Stream target = data ?? (Stream)file;
            Span<float> floats = MemoryMarshal.Cast<byte, float>(chunk.AsSpan());
            for (long written = 0; written < tensorBytes; written += chunk.Length)
            {
                // Small values so the product of the chain stays finite.
                for (int k = 0; k < floats.Length; k++)
                {
                    floats[k] = (((k * 7919) + (int)(written >> 20) + i) % 201 - 100) * 1e-4f;
                }

                target.Write(chunk);
            }
        }

        file.Write(inputs);
        file.Write(outputs);
        file.Write(Bytes(8, [.. Text(1, string.Empty), .. Varint(2, 13)]));
        Console.WriteLine($"wrote {Path.Combine(dir, "chain.onnx")}: {count} weights of {tensorBytes >> 20} MiB{(external ? " in chain.bin" : string.Empty)}");
    }
}
