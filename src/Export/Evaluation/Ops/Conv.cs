using System.Buffers;
using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// NNEF <c>conv</c> as tract builds it (<c>deser.rs</c> <c>conv_or_deconv</c>): NCHW/NCW input, OIHW/OIW kernel (plain or
/// Q4_0, dequantized in the input's float type), explicit padding pairs or same-upper when empty, stride, dilation,
/// <c>groups = 0</c> meaning one group per output channel. The bias loses its unit axes and is cast to the input float
/// type (i32 for integer input). Float convolution accumulates in f32 (f16 results rounded once); quantized
/// convolution accumulates <c>bias + Σ (x − zx)(w − zw)</c> exactly and requantizes to the <c>graph.quant</c> type
/// (i32 when there is none).
/// </summary>
internal static class Conv
{
    public static void Register(OpRegistry nnef)
    {
        nnef.Primitive("conv", Run);
        nnef.Primitive("deconv", Deconv.Run);
    }

    private static TensorOperand Run(Invocation inv)
    {
        TensorValue x = inv.Tensor("input");
        TensorValue w = inv.Tensor("filter");
        TensorValue bias = RemoveUnitAxes(inv.Tensor("bias"));
        string border = inv.String("border");
        if (border != "constant")
        {
            throw new UnsupportedFeatureException(null, null, $"conv border '{border}' (tract accepts only 'constant')");
        }

        int spatialRank = x.Rank - 2;
        if (spatialRank < 1 || w.Rank != x.Rank)
        {
            throw new InvalidGraphException(null, $"conv input {x} and kernel {w} must be NC+spatial and OI+spatial of the same rank");
        }

        int outChannels = w.Shape[0];
        int groups = inv.Int("groups");
        if (groups == 0)
        {
            groups = outChannels;
        }

        int inPerGroup = w.Shape[1];
        if (groups <= 0 || x.Shape[1] != inPerGroup * groups || outChannels % groups != 0)
        {
            throw new InvalidGraphException(null, $"conv input channels {x.Shape[1]} do not match kernel {w} with {groups} group(s)");
        }

        int[] kernel = w.ShapeArray[2..];
        int[] stride = Spatial(inv.Ints("stride"), spatialRank, "stride");
        int[] dilation = Spatial(inv.Ints("dilation"), spatialRank, "dilation");
        int[] input = x.ShapeArray[2..];
        (int[] before, int[] outSpatial) = Window.Padding(inv.Pairs("padding"), input, kernel, stride, dilation, 0);
        var geometry = new Window(x.Shape[0], x.Shape[1], input, kernel, stride, dilation, before, outSpatial);

        DatumType? outputType = x.Type.IsFloat ? null : inv.OutputQuant ?? DatumType.I32;
        if (bias.Rank > 1 || (bias.Rank == 1 && bias.Shape[0] != outChannels && bias.Shape[0] != 1))
        {
            throw new InvalidGraphException(null, $"conv bias {bias} does not fit {outChannels} output channels");
        }

        return inv.Result(outputType is DatumType o
            ? Quantized(x, w, bias, geometry, groups, o)
            : Float(x, w, Cast.To(bias, x.Type), geometry, groups, inv.Context.ParallelOptions));
    }

    // Float convolution in f32 (f16 results rounded once). One and two spatial axes: depthwise and small-group
    // convolutions run directly on the group's padded planes; the others multiply the kernel rows by the patch matrix,
    // which a 1x1, stride-1, unpadded convolution reads as the input itself and the others pack block by block from the
    // padded planes (never built whole). The output is written in place in NC+spatial order; kernels (f32, f16 or Q4_0)
    // are read in place.
    private static TensorValue Float(TensorValue x, TensorValue w, TensorValue bias, Window g, int groups, ParallelOptions parallel)
    {
        float[] input = Cast.To(x, DatumType.F32).Items<float>();
        OperandSource kernel = MatMul.Source(w, x.Type);
        float[] b = Cast.To(bias, DatumType.F32).Items<float>();
        int outChannels = w.Shape[0];
        int cg = x.Shape[1] / groups;
        int patch = cg * g.KernelVolume;
        int positions = g.OutVolume;
        float[] output = TensorPool.Allocate<float>(g.Batch * outChannels * positions);
        int threads = Gemm.Threads(parallel);
        KernelWidth width = KernelWidths.Active;
        if (g.Input.Length > 2)
        {
            Generic(input, kernel, g, groups, output, outChannels, threads, width);
            AddBias(output, b, g.Batch, outChannels, positions);
        }
        else
        {
            // The bias is added by the kernels as each output block is finished (the same two roundings as a separate
            // addition; an empty bias adds +0).
            float[] channelBias = new float[outChannels];
            if (b.Length == 1)
            {
                Array.Fill(channelBias, b[0]);
            }
            else if (b.Length == outChannels)
            {
                b.CopyTo(channelBias, 0);
            }

            if (groups > 1 && patch <= 128)
            {
                DirectGroups(input, kernel, channelBias, Geometry(g), g.Batch, groups, cg, outChannels, output, threads, width);
            }
            else
            {
                Patched(input, kernel, channelBias, Geometry(g), g.Batch, groups, cg, outChannels, output, threads, width);
            }
        }
        return Cast.To(TensorValue.Wrap(DatumType.F32, g.OutputShape(outChannels), output), x.Type);
    }

    // Depthwise and small-group convolutions: per (batch item, group), the group's planes padded once into a buffer of
    // the worker's own, then each output channel of the group computed directly; (item, group) pairs split over threads.
    private static void DirectGroups(float[] input, OperandSource kernel, float[] bias, ConvGeometry geometry, int batch, int groups, int cg, int outChannels, float[] output, int threads, KernelWidth width)
    {
        int perGroupOut = outChannels / groups;
        int patch = cg * geometry.Cells;
        int positions = geometry.Positions;
        int inVolume = geometry.H * geometry.W;
        var rows = new float[outChannels * patch];
        PanelPacking.Pack(kernel.View(0, patch, 1), 0, outChannels, 0, patch, 1, rows);
        int planes = cg * geometry.PaddedPlane;
        Channels(batch * groups, (long)batch * outChannels * patch * positions, threads, item =>
        {
            int n = item / groups;
            int group = item % groups;
            float[] padded = ArrayPool<float>.Shared.Rent(planes);
            try
            {
                ConvKernels.Pad(geometry, input.AsSpan(((n * groups) + group) * cg * inVolume, cg * inVolume), cg, padded);
                for (int oc = group * perGroupOut; oc < (group + 1) * perGroupOut; oc++)
                {
                    ConvKernels.Direct(width, geometry, padded.AsSpan(0, planes), cg, rows.AsSpan(oc * patch, patch), output.AsSpan(((n * outChannels) + oc) * positions, positions), bias[oc]);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(padded);
            }
        });
    }

    // The product of the kernel rows with the patch matrix, per (batch item, group).
    private static void Patched(float[] input, OperandSource kernel, float[] bias, ConvGeometry geometry, int batch, int groups, int cg, int outChannels, float[] output, int threads, KernelWidth width)
    {
        int perGroupOut = outChannels / groups;
        int patch = cg * geometry.Cells;
        int positions = geometry.Positions;
        int inVolume = geometry.H * geometry.W;
        bool pointwise = geometry.Cells == 1 && geometry.SY == 1 && geometry.SX == 1 && geometry.PadTop == 0 && geometry.PadLeft == 0
            && geometry.OH == geometry.H && geometry.OW == geometry.W;
        float[]? padded = pointwise ? null : ArrayPool<float>.Shared.Rent(cg * geometry.PaddedPlane);
        try
        {
            for (int n = 0; n < batch; n++)
            {
                for (int group = 0; group < groups; group++)
                {
                    int start = ((n * groups) + group) * cg * inVolume;
                    MatrixOperand patches;
                    if (padded is null)
                    {
                        // A 1x1 stride-1 convolution's patch matrix is its input: [channel, position], row-major.
                        patches = MatrixOperand.OfSingle(input, start, 1, inVolume);
                    }
                    else
                    {
                        ConvKernels.Pad(geometry, input.AsSpan(start, cg * inVolume), cg, padded);
                        patches = MatrixOperand.OfPatches(new ConvPatches(geometry, padded, 0, cg));
                    }

                    int first = group * perGroupOut;
                    Gemm.Run(width, new GemmProblem
                    {
                        M = perGroupOut,
                        N = positions,
                        K = patch,
                        A = kernel.View(first * patch, patch, 1),
                        B = patches,
                        C = output,
                        Ldc = positions,
                        CBatchOffsets = [((n * outChannels) + first) * positions],
                        RowBias = bias,
                        RowBiasOffset = first,
                    }, threads);
                }
            }
        }
        finally
        {
            if (padded is not null)
            {
                ArrayPool<float>.Shared.Return(padded);
            }
        }
    }

    // Three or more spatial axes: the window's patch matrix ([position, patch]) read transposed by the product.
    private static void Generic(float[] input, OperandSource kernel, Window g, int groups, float[] output, int outChannels, int threads, KernelWidth width)
    {
        int perGroupOut = outChannels / groups;
        int cg = g.Channels / groups;
        int patch = cg * g.KernelVolume;
        int positions = g.OutVolume;
        for (int group = 0; group < groups; group++)
        {
            float[] patches = g.Patches(input, group * cg, cg, 0f);
            Gemm.Run(width, new GemmProblem
            {
                Batch = g.Batch,
                M = perGroupOut,
                N = positions,
                K = patch,
                A = kernel.View(group * perGroupOut * patch, patch, 1),
                B = MatrixOperand.OfSingle(patches, 0, patch, 1),
                ABatchOffsets = new int[g.Batch],
                BBatchOffsets = Enumerable.Range(0, g.Batch).Select(n => n * positions * patch).ToArray(),
                C = output,
                Ldc = positions,
                CBatchOffsets = Enumerable.Range(0, g.Batch).Select(n => ((n * outChannels) + (group * perGroupOut)) * positions).ToArray(),
            }, threads);
        }
    }

    // The product rounded once, then the bias added (one more rounding), as tract's separate bias addition; an empty
    // bias adds +0 (which turns a -0 product into +0, as the addition always did).
    private static void AddBias(float[] output, float[] bias, int batch, int channels, int positions)
    {
        for (int n = 0; n < batch; n++)
        {
            for (int c = 0; c < channels; c++)
            {
                float bv = bias.Length == 0 ? 0f : bias[bias.Length == 1 ? 0 : c];
                Span<float> plane = output.AsSpan(((n * channels) + c) * positions, positions);
                System.Numerics.Tensors.TensorPrimitives.Add(plane, bv, plane);
            }
        }
    }

    private static ConvGeometry Geometry(Window g) => g.Input.Length == 1
        ? new ConvGeometry(1, g.Input[0], 1, g.Kernel[0], 1, g.Stride[0], 1, g.Dilation[0], 0, g.PadBefore[0], 1, g.Output[0])
        : new ConvGeometry(g.Input[0], g.Input[1], g.Kernel[0], g.Kernel[1], g.Stride[0], g.Stride[1], g.Dilation[0], g.Dilation[1], g.PadBefore[0], g.PadBefore[1], g.Output[0], g.Output[1]);

    private static void Channels(int count, long work, int threads, Action<int> body)
    {
        if (threads > 1 && count > 1 && work >= ElementWiseLoops.ParallelThreshold)
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
        }
        else
        {
            for (int i = 0; i < count; i++)
            {
                body(i);
            }
        }
    }

    private static TensorValue Quantized(TensorValue x, TensorValue w, TensorValue bias, Window g, int groups, DatumType output)
    {
        QuantParams qx = x.Type.ZpScale;
        QuantParams qw = w.Type.ZpScale;
        long[] input = MatMul.Centered(Cast.ToLongs(x), qx.ZeroPoint);
        long[] kernel = MatMul.Centered(Cast.ToLongs(w), qw.ZeroPoint);
        long[] b = Cast.ToLongs(Cast.To(bias.Type.IsQuantized ? bias.WithType(bias.Type.Unquantized) : bias, DatumType.I32));
        int outChannels = w.Shape[0];
        int perGroupOut = outChannels / groups;
        int cg = x.Shape[1] / groups;
        int patch = cg * g.KernelVolume;
        var acc = new long[g.Batch * outChannels * g.OutVolume];
        for (int group = 0; group < groups; group++)
        {
            long[] patches = g.Patches(input, group * cg, cg, 0L);
            for (int p = 0; p < g.Batch * g.OutVolume; p++)
            {
                int n = p / g.OutVolume;
                int o = p % g.OutVolume;
                for (int oc = 0; oc < perGroupOut; oc++)
                {
                    int channel = (group * perGroupOut) + oc;
                    long s = b.Length == 0 ? 0 : b[b.Length == 1 ? 0 : channel];
                    int kBase = channel * patch;
                    int pBase = p * patch;
                    for (int k = 0; k < patch; k++)
                    {
                        s += patches[pBase + k] * kernel[kBase + k];
                    }

                    acc[(((n * outChannels) + channel) * g.OutVolume) + o] = s;
                }
            }
        }

        return MatMul.Requantize(acc, g.OutputShape(outChannels), qx.Scale * qw.Scale, output);
    }

    // tract removes the bias's unit axes, last first, until none is left.
    private static TensorValue RemoveUnitAxes(TensorValue bias) => bias.WithShape(bias.ShapeArray.Where(d => d != 1).ToArray());

    private static int[] Spatial(int[] values, int rank, string what)
    {
        if (values.Length == 0)
        {
            return Enumerable.Repeat(1, rank).ToArray();
        }

        return values.Length == rank && values.All(v => v > 0)
            ? values
            : throw new InvalidGraphException(null, $"conv {what} [{string.Join(", ", values)}] must list {rank} positive spatial values");
    }
}
