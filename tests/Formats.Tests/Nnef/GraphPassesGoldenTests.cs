using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

public class GraphPassesGoldenTests
{
    public static TheoryData<string> Archives => GoldenArchives.All();

    [Theory]
    [MemberData(nameof(Archives))]
    public void EveryGoldenGraphValidatesAndHasNoDeadStatements(string rel)
    {
        Graph g = NnefArchive.Read(Path.Combine(Golden.Dir, rel));
        GraphValidator.Validate(g);
        int before = g.Nodes.Count;
        Graph sorted = g.Clone();
        GraphValidator.SortTopologically(sorted);
        Assert.Equal(g.Nodes.Select(n => n.Name), sorted.Nodes.Select(n => n.Name));
        int removed = DeadNodeElimination.Run(g);
        // torch_to_nnef writes some shape_of statements that nothing reads (re-emitted *_shape lines) and,
        // in the Khronos export, copy statements: those are the only dead statements.
        Assert.All(
            NnefArchive.Read(Path.Combine(Golden.Dir, rel)).Nodes.Where(n => !g.Nodes.Any(k => k.Name == n.Name)),
            n => Assert.Contains(n.Op, new[] { "tract_core_shape_of", "copy", "variable" }));
        Assert.Equal(before - removed, g.Nodes.Count);
    }

    [Fact]
    public void FoldingTheLlamaShapeComputationsKeepsAValidLoadableGraph()
    {
        Graph g = NnefArchive.Read(Golden.File("llm", "llama", "export_f32", "model", "model.nnef.tgz"));
        int nodes = g.Nodes.Count;
        int replaced = ShapeConstantFolding.Run(g);
        GraphValidator.Validate(g);
        Assert.True(replaced > 0);
        Assert.True(g.Nodes.Count < nodes);

        // in_cache_key_0 is [1, 2, P, 16]: its dim0 is 1, so the mask tile repeats become literals.
        Assert.Equal(Arg.Ints(1, 1), g.FindProducer("full0")!.GetAttribute("repeats"));
        // The rotary inv_freq variable [8] unsqueezed to [1, 8, 1]: dim1 = 8 in the reshape.
        Assert.Equal(Arg.Int(8), ((ArrayArg)g.FindProducer("model_model_rotaryEmb_expand0")!.GetAttribute("shape")!).Items[1]);
        // Only shape bookkeeping disappears; every real operator is still there.
        string[] removable = ["tract_core_shape_of", "slice", "squeeze", "div", "tract_core_cast", "mul"];
        Graph original = NnefArchive.Read(Golden.File("llm", "llama", "export_f32", "model", "model.nnef.tgz"));
        foreach (Node n in original.Nodes.Where(n => g.FindProducer(n.Name) is null))
        {
            Assert.Contains(n.Op, removable);
        }

        // The folded graph writes and reads back to the same IR.
        using var tmp = new TempDir();
        NnefArchive.Write(g, tmp.File("folded"));
        GraphAssert.Equal(g, NnefArchive.Read(tmp.File("folded")));
    }
}
