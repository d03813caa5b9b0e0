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

    /// <summary>
    /// The small golden graphs (CNN, MLP, PTQ) and one LLM graph (symbols, assertions, fragments, ~50 KB): small seeds
    /// keep afl-fuzz fast, the large one brings the constructs only LLM exports use.
    /// </summary>
    public override IEnumerable<Seed> Seeds(GoldenFiles golden) =>
        golden.Files("graph.nnef", 16 << 10, 8)
            .Concat(golden.Files("graph.nnef", 64 << 10, int.MaxValue).Where(s => s.Bytes.Length > 16 << 10).Take(1));
}
