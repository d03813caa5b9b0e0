using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using static TorchToNnef.Export.Tests.GraphFixture;

namespace TorchToNnef.Export.Tests;

/// <summary>Fused operators against their decomposed definitions.</summary>
public class FusedOperatorTests
{
    private static readonly float[] X = [-3.5f, -0.25f, 0f, 0.7f, 1.5f, 4f, -2f, 0.1f];

    [Fact]
    public void SiluIsXTimesTractsSigmoidUnderBothNames()
    {
        var g = new GraphFixture().Input("x", DType.F32, 8);
        g.Graph.Registries.Add("tract_transformers");
        g.Op("a", "tract_core_silu", R("x"));
        g.Op("b", "tract_transformers_silu", R("x"));
        g.Op("sig", "sigmoid", R("x"));
        g.Op("decomposed", "mul", R("x"), R("sig"));
        g.Output("a", "b", "decomposed");
        IReadOnlyList<NamedTensor> r = g.Run(F32("x", X, 8));

        // The definition, in double: x * sigmoid(x) = x / (1 + e^-x); tract's f32 sigmoid is a rational fit within a
        // few f32 ulps of it.
        float[] fused = r[0].Value.Span<float>().ToArray();
        for (int i = 0; i < X.Length; i++)
        {
            double exact = X[i] / (1 + Math.Exp(-X[i]));
            Assert.True(Math.Abs(fused[i] - exact) <= 1e-6 * Math.Max(1, Math.Abs(exact)), $"silu({X[i]}) = {fused[i]:R}, exact {exact:R}");
        }

        // Both names are the same operator, and it is exactly its decomposition into the graph's own sigmoid and mul.
        Assert.Equal(fused, r[1].Value.Span<float>().ToArray());
        Assert.Equal(r[2].Value.Span<float>().ToArray(), fused);
    }

    [Fact]
    public void TransformerOpsNeedTheirRegistry()
    {
        var g = new GraphFixture().Input("x", DType.F32, 8);
        g.Op("a", "tract_transformers_silu", R("x"));
        g.Output("a");
        var e = Assert.Throws<InvalidGraphException>(() => g.Run(F32("x", X, 8)));
        Assert.Contains("extension tract_registry tract_transformers", e.Message);
    }

    [Fact]
    public void RmsNormNormalizesTheAxisWithoutWeight()
    {
        var g = new GraphFixture().Input("x", DType.F32, 2, 4);
        g.Op("y", "tract_core_rms_norm", R("x")).With("axis", I(1)).With("eps", F(1e-5));
        g.Output("y");
        float[] y = g.RunSingle(F32("x", X, 2, 4)).Span<float>().ToArray();
        for (int row = 0; row < 2; row++)
        {
            double ms = X.Skip(row * 4).Take(4).Sum(v => (double)v * v) / 4;
            for (int i = 0; i < 4; i++)
            {
                Assert.Equal(X[(row * 4) + i] / Math.Sqrt(ms + 1e-5), y[(row * 4) + i], 5);
            }
        }
    }

    [Fact]
    public void ApplyRopeRotatesHalves()
    {
        var g = new GraphFixture().Input("x", DType.F32, 1, 4).Input("cos", DType.F32, 1, 4).Input("sin", DType.F32, 1, 4);
        g.Graph.Registries.Add("tract_transformers");
        g.Op("y", "tract_transformers_apply_rope", R("x"), R("cos"), R("sin"));
        g.Output("y");
        float[] x = [1, 2, 3, 4], c = [0.5f, 0.25f, 1, 2], s = [1, 1, 0.5f, -1];
        float[] y = g.RunSingle(F32("x", x, 1, 4), F32("cos", c, 1, 4), F32("sin", s, 1, 4)).Span<float>().ToArray();
        float[] rotated = [-3, -4, 1, 2];
        Assert.Equal(Enumerable.Range(0, 4).Select(i => (x[i] * c[i]) + (rotated[i] * s[i])).ToArray(), y);
    }

    [Fact]
    public void LogSoftmaxAndHardSwish()
    {
        var g = new GraphFixture().Input("x", DType.F32, 2, 4);
        g.Op("l", "tract_core_log_softmax", R("x")).With("axes", Arg.Ints(1));
        g.Op("h", "tract_core_hard_swish", R("x"));
        g.Output("l", "h");
        IReadOnlyList<NamedTensor> r = g.Run(F32("x", X, 2, 4));
        float[] l = r[0].Value.Span<float>().ToArray();
        for (int row = 0; row < 2; row++)
        {
            double lse = Math.Log(X.Skip(row * 4).Take(4).Sum(v => Math.Exp(v)));
            for (int i = 0; i < 4; i++)
            {
                Assert.Equal(X[(row * 4) + i] - lse, l[(row * 4) + i], 5);
            }
        }

        Assert.Equal(X.Select(v => v * Math.Clamp((v / 6f) + 0.5f, 0f, 1f)).ToArray(), r[1].Value.Span<float>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
    }
}
