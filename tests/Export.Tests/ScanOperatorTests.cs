using System.Globalization;
using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Formats.Nnef.Text;
using TorchToNnef.Ir;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// <c>tract_core_scan</c> in the evaluator against a scalar loop written here: a running state <c>acc = acc·w + x</c>
/// over chunks of an axis, forward and backward, chunks of one and several elements, stacked outputs written from the
/// start or from the end, and the last state; plus shape inference of the same graphs and the plans that are refused.
/// </summary>
public sealed class ScanOperatorTests
{
    private const int Outer = 2;
    private const int Inner = 3;

    private static string Text(int length, int chunk, int outputChunk, string extra = "", string states = "[('acc', a0, 'next')]", string results = "out: tensor<scalar>, next: tensor<scalar>")
    {
        int k = Math.Abs(chunk);
        return string.Create(CultureInfo.InvariantCulture, $$"""
            version 1.0;
            extension tract_registry tract_core;

            fragment step(x: tensor<scalar>, w: tensor<scalar>, acc: tensor<scalar>) -> ({{results}})
            {
                scaled = mul(acc, w);
                next = add(scaled, x);
                out = mul(next, 2.0);
            }

            graph network(x, w, a0) -> (ys, last)
            {
                x = tract_core_external(shape = [{{Outer}}, {{length}}, {{Inner}}], datum_type = 'f32');
                w = tract_core_external(shape = [1, 1, {{Inner}}], datum_type = 'f32');
                a0 = tract_core_external(shape = [{{Outer}}, {{k}}, {{Inner}}], datum_type = 'f32');
                (ys, last) = tract_core_scan(body = 'step', scan = [('x', x, 1, {{chunk}})], full = [('w', w)], state = {{states}}, output = [('out', 'full', 1, {{outputChunk}}), ('next', 'last', 0, 1)]{{extra}});
            }
            """);
    }

    private static float[] Values(int seed, int n)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => (rng.NextSingle() * 2) - 1)];
    }

    // The scalar reference: turn t reads rows [t·k, t·k + k) (or, backward, [L - (t+1)·k, L - t·k)), in order.
    private static (float[] Ys, float[] Last) Reference(float[] x, float[] w, float[] a0, int length, int chunk, int outputChunk)
    {
        int k = Math.Abs(chunk);
        int turns = length / k;
        float[] acc = (float[])a0.Clone();
        var ys = new float[Outer * length * Inner];
        for (int t = 0; t < turns; t++)
        {
            int start = chunk > 0 ? t * k : length - ((t + 1) * k);
            int at = outputChunk > 0 ? t * k : length - 1 - t;
            for (int o = 0; o < Outer; o++)
            {
                for (int r = 0; r < k; r++)
                {
                    for (int i = 0; i < Inner; i++)
                    {
                        int a = (((o * k) + r) * Inner) + i;
                        acc[a] = (acc[a] * w[i]) + x[(((o * length) + start + r) * Inner) + i];
                        ys[(((o * length) + at + r) * Inner) + i] = acc[a] * 2f;
                    }
                }
            }
        }

        return (ys, acc);
    }

    [Theory]
    [InlineData(6, 1, 1)]
    [InlineData(6, -1, -1)]
    [InlineData(6, -1, 1)]
    [InlineData(6, 2, 1)]
    [InlineData(6, -3, 1)]
    [InlineData(6, 6, 1)]
    [InlineData(7, 1, -1)]
    [InlineData(1, -1, -1)]
    public void Scan_matches_a_scalar_loop(int length, int chunk, int outputChunk)
    {
        Graph graph = GraphText.Parse(Text(length, chunk, outputChunk));
        int k = Math.Abs(chunk);
        float[] x = Values(1, Outer * length * Inner);
        float[] w = Values(2, Inner);
        float[] a0 = Values(3, Outer * k * Inner);
        (float[] ys, float[] last) = Reference(x, w, a0, length, chunk, outputChunk);

        var evaluator = new GraphEvaluator(graph);
        IReadOnlyList<NamedTensor> got = evaluator.Run(
        [
            new("x", TensorValue.F32([Outer, length, Inner], x)),
            new("w", TensorValue.F32([1, 1, Inner], w)),
            new("a0", TensorValue.F32([Outer, k, Inner], a0)),
        ]);
        Assert.Equal([Outer, length, Inner], got[0].Value.Shape.ToArray());
        Assert.Equal(ys, got[0].Value.Span<float>().ToArray());
        Assert.Equal([Outer, k, Inner], got[1].Value.Shape.ToArray());
        Assert.Equal(last, got[1].Value.Span<float>().ToArray());

        GraphTypes types = ShapeInference.Run(graph);
        Assert.Equal(TensorType.Of(DatumType.F32, Outer, length, Inner), types["ys"]);
        Assert.Equal(TensorType.Of(DatumType.F32, Outer, k, Inner), types["last"]);
    }

    [Fact]
    public void A_length_that_is_not_a_multiple_of_the_chunk_is_refused()
    {
        Graph graph = GraphText.Parse(Text(7, 2, 1));
        var e = Assert.Throws<UnsupportedFeatureException>(() => ShapeInference.Run(graph));
        Assert.Contains("not a multiple of the chunk 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_backward_output_of_several_rows_per_turn_is_refused()
    {
        Graph graph = GraphText.Parse(Text(6, -2, -1));
        var e = Assert.Throws<UnsupportedFeatureException>(() => ShapeInference.Run(graph));
        Assert.Contains("backward scan output", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pulse_settings_are_refused()
    {
        Graph graph = GraphText.Parse(Text(6, 1, 1, ", skip = 2"));
        var e = Assert.Throws<UnsupportedFeatureException>(() => new GraphEvaluator(graph).Run(
        [
            new("x", TensorValue.Zeros(DatumType.F32, [Outer, 6, Inner])),
            new("w", TensorValue.Zeros(DatumType.F32, [1, 1, Inner])),
            new("a0", TensorValue.Zeros(DatumType.F32, [Outer, 1, Inner])),
        ]));
        Assert.Contains("skip", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_parameter_bound_twice_is_refused()
    {
        Graph graph = GraphText.Parse(Text(6, 1, 1, states: "[('acc', a0, 'next'), ('w', a0, 'next')]"));
        var e = Assert.Throws<InvalidGraphException>(() => ShapeInference.Run(graph));
        Assert.Contains("binds parameter 'w' of 'step' 2 times", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_state_whose_result_is_unknown_is_refused()
    {
        Graph graph = GraphText.Parse(Text(6, 1, 1, states: "[('acc', a0, 'nothing')]"));
        var e = Assert.Throws<InvalidGraphException>(() => ShapeInference.Run(graph));
        Assert.Contains("'nothing', which is not a result of 'step'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dead_code_elimination_keeps_the_body_fragment_of_a_live_scan()
    {
        Graph graph = GraphText.Parse(Text(6, 1, 1));
        DeadNodeElimination.Run(graph);
        Assert.Contains(graph.Fragments, f => f.Name == "step");
    }
}
