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

    private static TensorValue Float(TensorValue x, TensorValue w, TensorValue bias, Window g, int groups, ParallelOptions parallel)
    {
        float[] input = MatMul.OperandAsF32(x, x.Type);
        float[] kernel = MatMul.OperandAsF32(w, x.Type);
        float[] b = Cast.To(bias, DatumType.F32).Items<float>();
        int outChannels = w.Shape[0];
        int perGroupOut = outChannels / groups;
        int cg = x.Shape[1] / groups;
        int patch = cg * g.KernelVolume;
        int positions = g.Batch * g.OutVolume;
        var output = new float[g.Batch * outChannels * g.OutVolume];
        for (int group = 0; group < groups; group++)
        {
            float[] patches = g.Patches(input, group * cg, cg, 0f);
            // Kernel rows of this group as [patch, out channel], the layout Gemm reads its right operand in.
            var columns = new float[patch * perGroupOut];
            for (int oc = 0; oc < perGroupOut; oc++)
            {
                for (int p = 0; p < patch; p++)
                {
                    columns[(p * perGroupOut) + oc] = kernel[(((group * perGroupOut) + oc) * patch) + p];
                }
            }

            float[] product = Gemm.Multiply(patches, columns, 1, positions, perGroupOut, patch, parallel);
            for (int p = 0; p < positions; p++)
            {
                int n = p / g.OutVolume;
                int o = p % g.OutVolume;
                for (int oc = 0; oc < perGroupOut; oc++)
                {
                    int channel = (group * perGroupOut) + oc;
                    float bv = b.Length == 0 ? 0 : b[b.Length == 1 ? 0 : channel];
                    output[(((n * outChannels) + channel) * g.OutVolume) + o] = product[(p * perGroupOut) + oc] + bv;
                }
            }
        }

        return Cast.To(TensorValue.Wrap(DatumType.F32, g.OutputShape(outChannels), output), x.Type);
    }

    private static TensorValue Quantized(TensorValue x, TensorValue w, TensorValue bias, Window g, int groups, DatumType output)
    {
        QuantParams qx = x.Type.ZpScale;
        QuantParams qw = w.Type.ZpScale;
        long[] input = Array.ConvertAll(Cast.ToLongs(x), v => v - qx.ZeroPoint);
        long[] kernel = Array.ConvertAll(Cast.ToLongs(w), v => v - qw.ZeroPoint);
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
