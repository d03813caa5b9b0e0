using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// The direct convolution and the product with the packed patch operand (<see cref="ConvPatches"/>, several output
/// channels, summed lengths past one packed block) at every width against a literal convolution loop (one fused
/// multiply-add chain per output over channel, kernel row, kernel column, padding cells read as zero, then the
/// channel's bias added), over strides,
/// dilations, paddings, and output widths around every register block and vector tail (shorter than a vector
/// included), bit for bit.
/// </summary>
public static class ConvChecks
{
    /// <summary>Returns one line per mismatching case.</summary>
    public static List<string> Run(int seeds)
    {
        var failures = new List<string>();
        for (int seed = 0; seed < seeds; seed++)
        {
            var rng = new Random(31 + seed);
            foreach ((int h, int w, int kh, int kw, int s, int d, int pad, int channels) in new[]
            {
                (5, 5, 3, 3, 1, 1, 1, 1), (7, 19, 3, 3, 2, 1, 1, 2), (1, 40, 1, 5, 1, 2, 4, 3), (9, 33, 3, 1, 3, 1, 0, 1),
                (6, 17, 2, 4, 2, 2, 3, 2), (1, 70, 1, 3, 1, 1, 1, 1), (4, 4, 5, 5, 1, 1, 2, 1), (3, 3, 1, 1, 1, 1, 0, 2),
                (4, 64, 3, 3, 1, 1, 1, 1), (3, 79, 5, 5, 1, 1, 2, 1), (3, 131, 3, 3, 2, 1, 1, 1), (2, 15, 3, 3, 1, 1, 1, 2),
                (2, 7, 3, 3, 1, 1, 1, 1), (5, 9, 1, 1, 1, 1, 0, 33), (6, 11, 3, 3, 1, 1, 1, 30), (2, 48, 2, 2, 2, 1, 0, 3),
                (9, 70, 3, 3, 1, 1, 1, 2), (8, 40, 5, 5, 1, 1, 2, 1), (6, 33, 3, 3, 1, 1, 0, 1), (7, 35, 3, 3, 1, 2, 2, 1),
                (13, 19, 3, 1, 1, 1, 1, 3),
            })
            {
                int oh = ((h + (2 * pad) - (((kh - 1) * d) + 1)) / s) + 1;
                int ow = ((w + (2 * pad) - (((kw - 1) * d) + 1)) / s) + 1;
                var g = new ConvGeometry(h, w, kh, kw, s, s, d, d, pad, pad, oh, ow);
                const int outChannels = 3;
                int taps = channels * g.Cells;
                float[] input = GemmChecks.TestFloats(rng, channels * h * w);
                float[] kernel = GemmChecks.TestFloats(rng, outChannels * taps);
                float[] bias = GemmChecks.TestFloats(rng, outChannels);
                var expected = new float[outChannels * g.Positions];
                for (int oc = 0; oc < outChannels; oc++)
                {
                    float[] plane = Literal(g, input, kernel.AsSpan(oc * taps, taps), channels);
                    for (int i = 0; i < plane.Length; i++)
                    {
                        expected[(oc * g.Positions) + i] = plane[i] + bias[oc];
                    }
                }

                var padded = new float[channels * g.PaddedPlane];
                ConvKernels.Pad(g, input, channels, padded);
                string what = $"conv {h}x{w} k{kh}x{kw} s{s} d{d} p{pad} c{channels}";
                foreach (KernelWidth width in KernelWidths.Supported)
                {
                    var direct = new float[outChannels * g.Positions];
                    for (int oc = 0; oc < outChannels; oc++)
                    {
                        ConvKernels.Direct(width, g, padded, channels, kernel.AsSpan(oc * taps, taps), direct.AsSpan(oc * g.Positions, g.Positions), bias[oc]);
                    }

                    GemmChecks.Compare(failures, $"{width} direct {what}", expected, direct);
                    var product = new float[outChannels * g.Positions];
                    Gemm.Run(width, new GemmProblem
                    {
                        M = outChannels,
                        N = g.Positions,
                        K = taps,
                        A = MatrixOperand.OfSingle(kernel, 0, taps, 1),
                        B = MatrixOperand.OfPatches(new ConvPatches(g, padded, 0, channels)),
                        C = product,
                        RowBias = bias,
                    }, 1);
                    GemmChecks.Compare(failures, $"{width} patches {what}", expected, product);
                }
            }
        }

        return failures;
    }

    private static float[] Literal(ConvGeometry g, float[] input, ReadOnlySpan<float> kernel, int channels)
    {
        var output = new float[g.Positions];
        for (int oy = 0; oy < g.OH; oy++)
        {
            for (int ox = 0; ox < g.OW; ox++)
            {
                float s = 0;
                for (int c = 0; c < channels; c++)
                {
                    for (int ky = 0; ky < g.KH; ky++)
                    {
                        for (int kx = 0; kx < g.KW; kx++)
                        {
                            int iy = (oy * g.SY) - g.PadTop + (ky * g.DY);
                            int ix = (ox * g.SX) - g.PadLeft + (kx * g.DX);
                            float v = iy >= 0 && iy < g.H && ix >= 0 && ix < g.W ? input[(((c * g.H) + iy) * g.W) + ix] : 0f;
                            s = MathF.FusedMultiplyAdd(v, kernel[(((c * g.KH) + ky) * g.KW) + kx], s);
                        }
                    }
                }

                output[(oy * g.OW) + ox] = s;
            }
        }

        return output;
    }
}
