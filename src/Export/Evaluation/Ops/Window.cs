using TorchToNnef.Errors;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// Sliding-window geometry over NC+spatial tensors shared by convolution and pooling: output size, padding (explicit
/// pairs or same-upper), and patch extraction where cells falling in the padding read a fill value.
/// </summary>
internal sealed class Window
{
    // Kernel cell index -> per-axis offsets inside the window, computed once.
    private readonly int[][] _cells;

    public Window(int batch, int channels, int[] input, int[] kernel, int[] stride, int[] dilation, int[] padBefore, int[] output)
    {
        Batch = batch;
        Channels = channels;
        Input = input;
        Kernel = kernel;
        Stride = stride;
        Dilation = dilation;
        PadBefore = padBefore;
        Output = output;
        _cells = new int[TensorValue.Volume(kernel)][];
        for (int cell = 0; cell < _cells.Length; cell++)
        {
            var index = new int[kernel.Length];
            int rem = cell;
            for (int i = kernel.Length - 1; i >= 0; i--)
            {
                index[i] = rem % kernel[i];
                rem /= kernel[i];
            }

            _cells[cell] = index;
        }
    }

    public int Batch { get; }

    public int Channels { get; }

    public int[] Input { get; }

    public int[] Kernel { get; }

    public int[] Stride { get; }

    public int[] Dilation { get; }

    public int[] PadBefore { get; }

    public int[] Output { get; }

    public int KernelVolume => TensorValue.Volume(Kernel);

    public int OutVolume => TensorValue.Volume(Output);

    public int InVolume => TensorValue.Volume(Input);

    /// <summary>
    /// Padding before each spatial axis and output sizes: explicit <c>(before, after)</c> pairs (only the last
    /// <c>input.Length</c> are spatial when <paramref name="leadingAxes"/> is 2), or same-upper when empty
    /// (<c>out = ceil(in / stride)</c>, the odd padding cell after).
    /// </summary>
    public static (int[] Before, int[] Output) Padding((int Before, int After)[] pairs, int[] input, int[] kernel, int[] stride, int[] dilation, int leadingAxes)
    {
        int rank = input.Length;
        var before = new int[rank];
        var output = new int[rank];
        if (pairs.Length != 0 && pairs.Length != rank + leadingAxes)
        {
            throw new InvalidGraphException(null, $"padding lists {pairs.Length} axes, expected {rank + leadingAxes}");
        }

        for (int i = 0; i < rank; i++)
        {
            int span = ((kernel[i] - 1) * dilation[i]) + 1;
            int total;
            if (pairs.Length == 0)
            {
                int o = (input[i] + stride[i] - 1) / stride[i];
                total = Math.Max(0, ((o - 1) * stride[i]) + span - input[i]);
                before[i] = total / 2;
            }
            else
            {
                (int b, int a) = pairs[i + leadingAxes];
                before[i] = b;
                total = b + a;
            }

            int extent = input[i] + total - span;
            if (extent < 0)
            {
                throw new InvalidGraphException(null, $"window of {span} does not fit spatial axis {i} of size {input[i]} with padding {total}");
            }

            output[i] = (extent / stride[i]) + 1;
        }

        return (before, output);
    }

    public int[] OutputShape(int channels) => [Batch, channels, .. Output];

    /// <summary>
    /// For each (batch, output position, channel in [c0, c0+count), kernel cell), the input value or
    /// <paramref name="fill"/> in the padding: layout <c>[batch · out, count · kernel]</c>.
    /// </summary>
    public T[] Patches<T>(T[] input, int c0, int count, T fill)
    {
        int kv = KernelVolume;
        int ov = OutVolume;
        int iv = InVolume;
        var result = new T[Batch * ov * count * kv];
        for (int n = 0; n < Batch; n++)
        {
            for (int o = 0; o < ov; o++)
            {
                int dst = ((n * ov) + o) * count * kv;
                int[] origin = Origin(o);
                for (int c = 0; c < count; c++)
                {
                    int channelBase = ((n * Channels) + c0 + c) * iv;
                    for (int k = 0; k < kv; k++)
                    {
                        int src = InputIndex(origin, k, out bool inside);
                        result[dst + (c * kv) + k] = inside ? input[channelBase + src] : fill;
                    }
                }
            }
        }

        return result;
    }

    /// <summary>Linear spatial index of kernel cell <paramref name="cell"/> at an output position's origin, and whether it is inside the input.</summary>
    public int InputIndex(int[] origin, int cell, out bool inside)
    {
        inside = true;
        int index = 0;
        int stride = 1;
        int[] cellIndex = _cells[cell];
        for (int i = Input.Length - 1; i >= 0; i--)
        {
            int pos = origin[i] + (cellIndex[i] * Dilation[i]);
            if (pos < 0 || pos >= Input[i])
            {
                inside = false;
                return 0;
            }

            index += pos * stride;
            stride *= Input[i];
        }

        return index;
    }

    /// <summary>Top-left input coordinate (possibly negative) of output position <paramref name="o"/>.</summary>
    public int[] Origin(int o)
    {
        var origin = new int[Output.Length];
        for (int i = Output.Length - 1; i >= 0; i--)
        {
            origin[i] = ((o % Output[i]) * Stride[i]) - PadBefore[i];
            o /= Output[i];
        }

        return origin;
    }
}
