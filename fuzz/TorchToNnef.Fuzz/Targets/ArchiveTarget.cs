using System.Formats.Tar;
using System.IO.Compression;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Fuzz.Targets;

/// <summary>
/// A whole NNEF archive, <c>.tar</c> or <c>.nnef.tgz</c> (sniffed): members, <c>graph.nnef</c>, <c>graph.quant</c>,
/// <c>.dat</c> headers, then the payload of every variable read.
/// </summary>
internal sealed class ArchiveTarget : FuzzTarget
{
    public override string Name => "archive";

    public override string Description => "NnefArchive.Read(Stream) + every variable's payload";

    /// <summary>A gzip stream may expand a hundredfold, up to 64 MiB at any ratio (DecompressionLimits).</summary>
    public override long AllocationBudget(int inputLength) => (256L << 20) + 256L * inputLength;

    public override void Run(byte[] input, Scratch scratch)
    {
        using var stream = new MemoryStream(input, writable: false);
        Graph graph = NnefArchive.Read(stream, "model.nnef.tgz");
        foreach ((string name, Variable variable) in graph.Variables)
        {
            using Tensor tensor = variable.Source.Open();
            Touch.Tensor(tensor, name);
        }
    }

    /// <summary>The small golden <c>.tgz</c> archives as they are, and every small golden NNEF folder packed as tar and tgz.</summary>
    public override IEnumerable<Seed> Seeds(GoldenFiles golden)
    {
        foreach (Seed seed in golden.Files("*.tgz", 64 << 10, 4))
        {
            yield return seed;
        }

        int packed = 0;
        foreach (string folder in golden.Folders("nnef"))
        {
            string[] files = Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToArray();
            if (files.Sum(f => new FileInfo(f).Length) > 16 << 10)
            {
                continue;
            }

            byte[] tar = Tar(files);
            string name = golden.SeedName(folder);
            yield return new Seed(name + ".tar", tar);
            yield return new Seed(name + ".tgz", Gzip(tar));
            if (++packed == 4)
            {
                yield break;
            }
        }
    }

    private static byte[] Tar(IEnumerable<string> files)
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (string file in files)
            {
                var entry = new UstarTarEntry(TarEntryType.RegularFile, Path.GetFileName(file))
                {
                    DataStream = new MemoryStream(File.ReadAllBytes(file)),
                    ModificationTime = DateTimeOffset.UnixEpoch,
                };
                writer.WriteEntry(entry);
            }
        }

        return output.ToArray();
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }
}
