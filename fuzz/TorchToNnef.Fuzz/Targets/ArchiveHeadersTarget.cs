using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;

namespace TorchToNnef.Fuzz.Targets;

/// <summary>
/// An NNEF archive file read as <c>t2n inspect</c> reads it: headers only, payloads streamed past and not kept; then
/// the graph's variables and quantization listed.
/// </summary>
internal sealed class ArchiveHeadersTarget : FuzzTarget
{
    private readonly ArchiveTarget _full = new();

    public override string Name => "archive-headers";

    public override string Description => "NnefArchive.Read(path, HeadersOnly) as t2n inspect reads an archive file";

    public override long AllocationBudget(int inputLength) => _full.AllocationBudget(inputLength);

    public override void Run(byte[] input, Scratch scratch)
    {
        Graph graph = NnefArchive.Read(scratch.Write("model.nnef.tgz", input), new NnefReadOptions { HeadersOnly = true });
        foreach ((string name, Variable variable) in graph.Variables)
        {
            _ = name.Length + variable.Source.ByteLength + variable.Shape.Rank;
        }

        _ = graph.Quantization.Count;
    }

    public override IEnumerable<Seed> Seeds(GoldenFiles golden) => _full.Seeds(golden);
}
