using System.Buffers;
using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// NNEF <c>deconv</c> (transposed convolution) as tract builds it (<c>deser.rs</c> <c>conv_or_deconv</c>): NC+spatial
/// float input, OIHW kernel whose O is the output channels and I the input channels of a group, explicit padding pairs
/// on the spatial axes, stride, dilation, groups, and <c>output_shape</c> (which adds the extra cells ONNX calls
/// <c>output_padding</c>). Each input cell scatters <c>x[n, i, p] · w[o, i mod I, k]</c> into output position
/// <c>p · stride + k · dilation − before</c>. Accumulation is in f32 in a fixed order: per kernel cell a matrix product
/// (one fused multiply-add chain over the group's input channels, the same bits at every vector width), the cells'
/// contributions then added to the bias in cell order.
/// </summary>
internal static class Deconv
{
    public static TensorOperand Run(Invocation inv)
    {
        TensorValue x = inv.Tensor("input");
        TensorValue w = inv.Tensor("filter");
        TensorValue bias = inv.Tensor("bias");
        bias = bias.WithShape([.. bias.ShapeArray.Where(d => d != 1)]);
        if (inv.String("border") != "constant" || !x.Type.IsFloat)
        {
            throw new UnsupportedFeatureException(null, null, $"deconv with border '{inv.String("border")}' on {x.Type} (constant border, float input only)");
        }

        int spatial = x.Rank - 2;
        if (spatial < 1 || w.Rank != x.Rank)
        {
            throw new InvalidGraphException(null, $"deconv input {x} and kernel {w} must be NC+spatial and OI+spatial of the same rank");
        }

        int groups = inv.Int("groups");
        int outChannels = w.Shape[0];
        int inPerGroup = w.Shape[1];
        if (groups <= 0 || x.Shape[1] != inPerGroup * groups || outChannels % groups != 0)
        {
            throw new InvalidGraphException(null, $"deconv input channels {x.Shape[1]} do not match kernel {w} with {groups} group(s)");
        }

        if (bias.Rank > 1 || (bias.Rank == 1 && bias.Shape[0] != outChannels && bias.Shape[0] != 1))
        {
            throw new InvalidGraphException(null, $"deconv bias {bias} does not fit {outChannels} output channels");
        }

        int[] kernel = w.ShapeArray[2..];
        int[] input = x.ShapeArray[2..];
        int[] stride = Axes(inv.Ints("stride"), spatial);
        int[] dilation = Axes(inv.Ints("dilation"), spatial);
        (int Before, int After)[] pads = inv.Pairs("padding");
        if (pads.Length != spatial)
        {
            throw new UnsupportedFeatureException(null, null, $"deconv needs explicit padding for its {spatial} spatial axes (got {pads.Length} pairs)");
        }

        int[] given = inv.Ints("output_shape");
        var output = new int[spatial];
        for (int i = 0; i < spatial; i++)
        {
            output[i] = given.Length == spatial
                ? given[i]
                : ((input[i] - 1) * stride[i]) + ((kernel[i] - 1) * dilation[i]) + 1 - pads[i].Before - pads[i].After;
            if (output[i] < 0)
            {
                throw new InvalidGraphException(null, $"deconv output size {output[i]} on spatial axis {i}");
            }
        }

        if (w.BlockQuant is not null)
        {
            throw new UnsupportedFeatureException(null, null, "deconv with a Q4_0 kernel");
        }

        // Operands in the input's float type (an f32 kernel for an f16 input is rounded first), accumulated in f32.
        float[] xs = Cast.To(x, DatumType.F32).Items<float>();
        float[] ws = Cast.To(Cast.To(w, x.Type), DatumType.F32).Items<float>();
        float[] b = Cast.To(Cast.To(bias, x.Type), DatumType.F32).Items<float>();
        int batch = x.Shape[0];
        int inVolume = TensorValue.Volume(input);
        int outVolume = TensorValue.Volume(output);
        int cells = TensorValue.Volume(kernel);
        int outPerGroup = outChannels / groups;
        float[] y = TensorPool.Allocate<float>(batch * outChannels * outVolume);

        // Where a contribution lands, split into rows (every axis but the last) and columns (the last axis): per kernel
        // cell and input row, the offset of the output row it lands on; per last-axis kernel cell and input column,
        // the output column; -1 outside the output.
        int inLast = input[^1];
        int outLast = output[^1];
        int kLast = kernel[^1];
        int inRows = inVolume / Math.Max(1, inLast);
        var rowTarget = new int[cells * inRows];
        var inIndex = new int[spatial];
        var cellIndex = new int[spatial];
        for (int cell = 0; cell < cells; cell++)
        {
            Unravel(cell, kernel, cellIndex);
            for (int row = 0; row < inRows; row++)
            {
                Unravel(row * inLast, input, inIndex);
                int flat = 0;
                for (int a = 0; a < spatial - 1 && flat >= 0; a++)
                {
                    int at = (inIndex[a] * stride[a]) + (cellIndex[a] * dilation[a]) - pads[a].Before;
                    flat = at < 0 || at >= output[a] ? -1 : (flat * output[a]) + at;
                }

                rowTarget[(cell * inRows) + row] = flat < 0 ? -1 : flat * outLast;
            }
        }

        var columnTarget = new int[kLast * inLast];
        for (int k = 0; k < kLast; k++)
        {
            for (int i = 0; i < inLast; i++)
            {
                int at = (i * stride[^1]) + (k * dilation[^1]) - pads[^1].Before;
                columnTarget[(k * inLast) + i] = at < 0 || at >= outLast ? -1 : at;
            }
        }

        // Per group and kernel cell, a matrix product gives every input position's contribution to every output
        // channel (cols[cell, o, p] = chain over the group's input channels i of w[o, i, cell] · x[i, p]); the
        // contributions are then added to the output positions they land on, from the bias, in kernel-cell order.
        int threads = Gemm.Threads(inv.Context.ParallelOptions);
        KernelWidth width = KernelWidths.Active;
        var byCell = new float[ws.Length];
        for (int o = 0; o < outChannels; o++)
        {
            for (int il = 0; il < inPerGroup; il++)
            {
                for (int cell = 0; cell < cells; cell++)
                {
                    byCell[(((cell * outChannels) + o) * inPerGroup) + il] = ws[(((o * inPerGroup) + il) * cells) + cell];
                }
            }
        }

        int colsLength = cells * outPerGroup * inVolume;
        float[] cols = ArrayPool<float>.Shared.Rent(colsLength);
        try
        {
            for (int n = 0; n < batch; n++)
            {
                for (int g = 0; g < groups; g++)
                {
                    Gemm.Run(width, new GemmProblem
                    {
                        Batch = cells,
                        M = outPerGroup,
                        N = inVolume,
                        K = inPerGroup,
                        A = MatrixOperand.OfSingle(byCell, g * outPerGroup * inPerGroup, inPerGroup, 1),
                        ABatchOffsets = [.. Enumerable.Range(0, cells).Select(cell => cell * outChannels * inPerGroup)],
                        B = MatrixOperand.OfSingle(xs, ((n * x.Shape[1]) + (g * inPerGroup)) * inVolume, 1, inVolume),
                        BBatchOffsets = new int[cells],
                        C = cols,
                        Ldc = inVolume,
                        CBatchOffsets = [.. Enumerable.Range(0, cells).Select(cell => cell * outPerGroup * inVolume)],
                    }, threads);
                    for (int ol = 0; ol < outPerGroup; ol++)
                    {
                        int o = (g * outPerGroup) + ol;
                        Span<float> plane = y.AsSpan(((n * outChannels) + o) * outVolume, outVolume);
                        plane.Fill(b.Length == 0 ? 0 : b.Length == 1 ? b[0] : b[o]);
                        for (int cell = 0; cell < cells; cell++)
                        {
                            Scatter(
                                cols.AsSpan(((cell * outPerGroup) + ol) * inVolume, inVolume),
                                rowTarget.AsSpan(cell * inRows, inRows),
                                columnTarget.AsSpan(cell % kLast * inLast, inLast),
                                plane);
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(cols);
        }

        int[] shape = [batch, outChannels, .. output];
        return inv.Result(Cast.To(TensorValue.F32(shape, y), x.Type));
    }

    // plane[row target + column target] += from[row, column] wherever both targets are inside the output (at most one
    // addition per output and call: one kernel cell maps distinct inputs to distinct outputs).
    private static void Scatter(ReadOnlySpan<float> from, ReadOnlySpan<int> rows, ReadOnlySpan<int> columns, Span<float> plane)
    {
        int width = columns.Length;
        for (int r = 0; r < rows.Length; r++)
        {
            int rowStart = rows[r];
            if (rowStart < 0)
            {
                continue;
            }

            ReadOnlySpan<float> source = from.Slice(r * width, width);
            for (int i = 0; i < width; i++)
            {
                int c = columns[i];
                if (c >= 0)
                {
                    plane[rowStart + c] += source[i];
                }
            }
        }
    }

    private static void Unravel(int flat, int[] dims, int[] index)
    {
        for (int a = dims.Length - 1; a >= 0; a--)
        {
            index[a] = flat % dims[a];
            flat /= dims[a];
        }
    }

    private static int[] Axes(int[] values, int rank)
    {
        if (values.Length == 0)
        {
            return [.. Enumerable.Repeat(1, rank)];
        }

        return values.Length == rank && values.All(v => v > 0)
            ? values
            : throw new InvalidGraphException(null, $"deconv stride/dilation [{string.Join(", ", values)}] must list {rank} positive spatial values");
    }
}
