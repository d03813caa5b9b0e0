using System.Text;
using System.Text.Unicode;
using TorchToNnef.Formats.Nnef.Text;

namespace TorchToNnef.Fuzz.Targets;

/// <summary>NNEF text (<c>graph.nnef</c>): lexer, parser and lowering to the graph IR with its validation.</summary>
internal sealed class NnefTextTarget : FuzzTarget
{
    public override string Name => "nnef-text";

    public override string Description => "GraphText.Parse (strict UTF-8, as the archive reader decodes graph.nnef)";

    public override void Run(byte[] input, Scratch scratch)
    {
        // The archive reader refuses invalid UTF-8 before the parser sees it.
        if (Utf8.IsValid(input))
        {
            GraphText.Parse(Encoding.UTF8.GetString(input), "graph.nnef");
        }
    }

    public override IEnumerable<Seed> Seeds(GoldenFiles golden) =>
        golden.Files("graph.nnef", 64 << 10, 16).Concat(golden.ArchiveMembers("graph.nnef", 64 << 10, 4));
}
