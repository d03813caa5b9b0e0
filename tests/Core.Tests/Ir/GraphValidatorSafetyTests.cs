using TorchToNnef.Errors;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Core.Tests.Ir;

/// <summary>What the validator adds so that no writer emits a graph tract would loop on or read ambiguously.</summary>
public class GraphValidatorSafetyTests
{
    private static Graph WithFragments(params (string Name, string[] Calls)[] fragments)
    {
        var g = new Graph();
        g.AddInput("x", DType.F32, [Dim.Of(4)]);
        foreach ((string name, string[] calls) in fragments)
        {
            var f = new Fragment(name) { Body = [] };
            f.Parameters.Add(new FragmentParameter("a", "tensor<scalar>"));
            f.Results.Add(new FragmentResult("r", "tensor<scalar>"));
            string previous = "a";
            for (int i = 0; i < calls.Length; i++)
            {
                string output = i == calls.Length - 1 ? "r" : $"t{i}";
                f.Body.Add(new Node(calls[i], output).With(Arg.Ref(previous)));
                previous = output;
            }

            g.Fragments.Add(f);
        }

        g.Nodes.Add(new Node(fragments[0].Name, "y").With(Arg.Ref("x")));
        g.Outputs.Add("y");
        return g;
    }

    [Fact]
    public void FragmentsCallingEachOtherAreRefusedWithTheCycle()
    {
        GraphValidator.Validate(WithFragments(("outer", ["relu", "inner"]), ("inner", ["neg"])));

        var e = Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(WithFragments(("ping", ["pong"]), ("pong", ["relu", "ping"]))));
        Assert.Contains("recursive fragment: ping -> pong -> ping", e.Message);
        e = Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(WithFragments(("self", ["relu", "self"]))));
        Assert.Contains("self -> self", e.Message);

        // A cycle not reachable from the first fragment is found too.
        e = Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(WithFragments(("a", ["relu"]), ("b", ["c"]), ("c", ["b"]))));
        Assert.Contains("b -> c -> b", e.Message);
    }

    [Fact]
    public void AVeryLongChainOfFragmentsDoesNotExhaustTheStack()
    {
        const int Count = 200_000;
        var chain = Enumerable.Range(0, Count).Select(i => ($"f{i}", i == Count - 1 ? new[] { "relu" } : [$"f{i + 1}"])).ToArray();
        GraphValidator.Validate(WithFragments(chain));
        chain[^1] = ($"f{Count - 1}", ["f0"]);
        Assert.Contains("recursive fragment", Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(WithFragments(chain))).Message);
    }

    [Fact]
    public void AnOutputListedTwiceAndAFragmentDefinedTwiceAreRefused()
    {
        Graph g = WithFragments(("f", ["relu"]));
        g.Outputs.Add("y");
        Assert.Contains("listed twice", Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(g)).Message);

        Assert.Contains("defined twice", Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(WithFragments(("f", ["relu"]), ("f", ["neg"])))).Message);
    }
}
