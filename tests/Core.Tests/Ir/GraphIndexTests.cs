using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Core.Tests.Ir;

public class GraphIndexTests
{
    private static Graph Diamond()
    {
        var g = new Graph();
        g.AddInput("x", DType.F32, [Dim.Of(4)]);
        g.Nodes.Add(new Node("relu", "a").With(Arg.Ref("x")));
        g.Nodes.Add(new Node("neg", "b").With(Arg.Ref("x")));
        g.Nodes.Add(new Node("add", "c").With(Arg.Ref("a")).With(Arg.Ref("b")));
        g.Nodes.Add(new Node("add", "d").With(Arg.Ref("c")).With(Arg.Ref("c")));
        g.Outputs.Add("d");
        return g;
    }

    [Fact]
    public void ProducersAndConsumersAreIndexed()
    {
        Graph g = Diamond();
        GraphIndex index = g.Index();
        Assert.Equal("tract_core_external", index.Producer("x")!.Op);
        Assert.Equal(3, index.ProducerPosition("c"));
        Assert.Equal(-1, index.ProducerPosition("nope"));
        Assert.Null(index.Producer("nope"));
        Assert.Equal(["a", "b"], index.Consumers("x").Select(n => n.Name));
        // A node reading a value twice is listed once.
        Assert.Equal(["d"], index.Consumers("c").Select(n => n.Name));
        Assert.Empty(index.Consumers("d"));
    }

    [Fact]
    public void FindProducerFollowsEditsOfTheBody()
    {
        Graph g = Diamond();
        Assert.Equal("c", g.FindProducer("c")!.Name);
        g.Nodes.RemoveAll(n => n.Name == "d");
        Assert.Null(g.FindProducer("d"));
        g.Nodes.Add(new Node("relu", "e").With(Arg.Ref("c")));
        Assert.Equal("relu", g.FindProducer("e")!.Op);
        g.Nodes[1] = new Node("sigmoid", "a").With(Arg.Ref("x"));
        Assert.Equal("sigmoid", g.FindProducer("a")!.Op);

        // An output renamed in place (no structural change) is still found, and the old name is gone.
        g.FindProducer("e")!.Outputs[0] = "f";
        Assert.Null(g.FindProducer("e"));
        Assert.Equal("relu", g.FindProducer("f")!.Op);
        g.Nodes.Clear();
        Assert.Null(g.FindProducer("x"));
    }
}
