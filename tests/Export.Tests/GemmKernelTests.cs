using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Export.Tests;

/// <summary>Hand-computed properties of the matrix product that the randomized kernel checks cannot show.</summary>
public class GemmKernelTests
{
    [Fact]
    public void EveryWidthKeepsTheExactFmaChain()
    {
        foreach (KernelWidth width in KernelWidths.Supported)
        {
            KeepsTheExactFmaChain(width);
        }
    }

    private static void KeepsTheExactFmaChain(KernelWidth width)
    {
        // -(1 + 2e) + (1 + e)^2 = e^2 exactly: the fused second step keeps the e^2 that rounding (1 + e)^2 first
        // would lose (a plain multiply-then-add gives 0). The k order is the written order.
        float e = MathF.Pow(2, -12);
        float[] a = [-1, 1 + e];
        float[] b = [1 + (2 * e), 1 + e];
        Assert.Equal(e * e, Gemm.MultiplyReference(a, b, 1, 1, 1, 2)[0]);
        Assert.Equal(e * e, Gemm.Multiply(width, a, b, 1, 1, 1, 2, 1)[0]);

        // The same chain inside a full register tile and a product of one row with B transposed.
        int m = 9, n = 40, k = 2;
        float[] am = new float[m * k];
        float[] bm = new float[k * n];
        for (int i = 0; i < m; i++)
        {
            am[i * k] = -1;
            am[(i * k) + 1] = 1 + e;
        }

        for (int j = 0; j < n; j++)
        {
            bm[j] = 1 + (2 * e);
            bm[n + j] = 1 + e;
        }

        Assert.All(Gemm.Multiply(width, am, bm, 1, m, n, k, 2), v => Assert.Equal(e * e, v));
        var c = new float[n];
        Gemm.Run(width, new GemmProblem
        {
            M = 1,
            N = n,
            K = k,
            A = MatrixOperand.OfSingle(am, 0, k, 1),
            B = MatrixOperand.OfSingle(Transposed(bm, k, n), 0, k, 1),
            C = c,
        }, 1);
        Assert.All(c, v => Assert.Equal(e * e, v));
    }

    [Fact]
    public void AnEmptySumGivesZeros()
    {
        foreach (KernelWidth width in KernelWidths.Supported)
        {
            float[] c = Gemm.Multiply(width, [], [], 2, 3, 4, 0, 1);
            Assert.Equal(24, c.Length);
            Assert.All(c, v => Assert.Equal(0f, v));
        }
    }

    private static float[] Transposed(float[] x, int rows, int columns)
    {
        var t = new float[x.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                t[(c * rows) + r] = x[(r * columns) + c];
            }
        }

        return t;
    }
}
