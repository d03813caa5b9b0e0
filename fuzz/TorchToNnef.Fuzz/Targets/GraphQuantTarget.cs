using System.Text;
using System.Text.Unicode;
using TorchToNnef.Formats.Nnef.Text;

namespace TorchToNnef.Fuzz.Targets;

/// <summary>The 8-bit quantization table <c>graph.quant</c>.</summary>
internal sealed class GraphQuantTarget : FuzzTarget
{
    public override string Name => "graph-quant";

    public override string Description => "GraphQuantText.Parse (strict UTF-8, as the archive reader decodes graph.quant)";

    public override void Run(byte[] input, Scratch scratch)
    {
        if (Utf8.IsValid(input))
        {
            GraphQuantText.Parse(Encoding.UTF8.GetString(input), "graph.quant");
        }
    }

    public override IEnumerable<Seed> Seeds(GoldenFiles golden) =>
        golden.Files("graph.quant", 64 << 10, 8).Concat(golden.ArchiveMembers("graph.quant", 64 << 10, 4));
}
