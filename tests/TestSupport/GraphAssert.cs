using TorchToNnef.Ir;
using Xunit;

namespace TorchToNnef.TestSupport;

/// <summary>
/// Structural equality of two IR graphs, for round-trip tests: signature, extensions, properties, quantization,
/// fragments, every node (operator, generic, arguments in order, outputs) and every variable (label, dtype, shape and,
/// unless disabled, the payload bytes). Fails with the path of the first difference.
/// </summary>
public static class GraphAssert
{
    /// <summary>Asserts that <paramref name="actual"/> equals <paramref name="expected"/>.</summary>
    public static void Equal(Graph expected, Graph actual, bool compareData = true)
    {
        Same(expected.Name, actual.Name, "graph name");
        Seq(expected.Inputs, actual.Inputs, "inputs");
        Seq(expected.Outputs, actual.Outputs, "outputs");
        Seq(expected.Registries, actual.Registries, "registries");
        Seq(expected.Symbols, actual.Symbols, "symbols");
        Seq(expected.Assertions, actual.Assertions, "assertions");
        Seq(expected.OtherExtensions, actual.OtherExtensions, "other extensions");
        Seq(expected.Properties, actual.Properties, "properties");
        Seq(
            expected.Quantization.OrderBy(kv => kv.Key, StringComparer.Ordinal),
            actual.Quantization.OrderBy(kv => kv.Key, StringComparer.Ordinal),
            "graph.quant entries");

        Same(expected.Fragments.Count, actual.Fragments.Count, "fragment count");
        for (int i = 0; i < expected.Fragments.Count; i++)
        {
            Fragment e = expected.Fragments[i];
            Fragment a = actual.Fragments[i];
            string where = $"fragment {e.Name}";
            Same(e.Name, a.Name, where + " name");
            Same(e.Generic, a.Generic, where + " generic");
            Seq(e.Parameters, a.Parameters, where + " parameters");
            Seq(e.Results, a.Results, where + " results");
            Same(e.Body is null, a.Body is null, where + " has body");
            if (e.Body is not null)
            {
                Nodes(e.Body, a.Body!, where);
            }
        }

        Nodes(expected.Nodes, actual.Nodes, "graph");

        Seq(expected.Variables.Keys.Order(StringComparer.Ordinal), actual.Variables.Keys.Order(StringComparer.Ordinal), "variable names");
        foreach ((string name, Variable e) in expected.Variables)
        {
            Variable a = actual.Variables[name];
            Same(e.Label, a.Label, $"variable {name} label");
            Same(e.DType, a.DType, $"variable {name} dtype");
            Same(e.Shape, a.Shape, $"variable {name} shape");
            if (compareData)
            {
                Assert.True(SameBytes(e.Source, a.Source), $"variable {name}: payload bytes differ");
            }
        }
    }

    /// <summary>True when both sources stream identical payload bytes.</summary>
    public static bool SameBytes(TensorSource a, TensorSource b)
    {
        using var ma = new MemoryStream();
        using var mb = new MemoryStream();
        a.WriteTo(ma);
        b.WriteTo(mb);
        return ma.GetBuffer().AsSpan(0, (int)ma.Length).SequenceEqual(mb.GetBuffer().AsSpan(0, (int)mb.Length));
    }

    private static void Nodes(IReadOnlyList<Node> expected, IReadOnlyList<Node> actual, string where)
    {
        for (int i = 0; i < Math.Min(expected.Count, actual.Count); i++)
        {
            Node e = expected[i];
            Node a = actual[i];
            string at = $"{where} node #{i} ({e})";
            Same(e.Op, a.Op, at + " op");
            Same(e.Generic, a.Generic, at + " generic");
            Seq(e.Outputs, a.Outputs, at + " outputs");
            Same(e.OutputForm, a.OutputForm, at + " output form");
            Seq(e.Inputs, a.Inputs, at + " positional arguments");
            Seq(e.Attributes.Keys, a.Attributes.Keys, at + " argument names");
            Seq(e.Attributes.Values, a.Attributes.Values, at + " named arguments");
        }

        Same(expected.Count, actual.Count, where + " node count");
    }

    private static void Same<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            Assert.Fail($"{what}: expected {expected}, got {actual}");
        }
    }

    private static void Seq<T>(IEnumerable<T> expected, IEnumerable<T> actual, string what)
    {
        List<T> e = [.. expected];
        List<T> a = [.. actual];
        for (int i = 0; i < Math.Min(e.Count, a.Count); i++)
        {
            if (!EqualityComparer<T>.Default.Equals(e[i], a[i]))
            {
                Assert.Fail($"{what}[{i}]: expected {e[i]}, got {a[i]}");
            }
        }

        if (e.Count != a.Count)
        {
            Assert.Fail($"{what}: expected {e.Count} items, got {a.Count}");
        }
    }
}
