using TorchToNnef.Errors;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// A two-operand einsum reduced to batched dot products: axes are classified as batch (in both operands and the
/// output), m (first operand and output), n (second operand and output) and k (both operands, summed); axes found in
/// one operand only and not in the output are summed beforehand. Size-1 axes broadcast against the other operand.
/// The operands are copied (strided, broadcast axes with stride 0) to <c>[batch, m, k]</c> and <c>[batch, k, n]</c>,
/// multiplied, and the
/// <c>[batch, m, n]</c> product is permuted to the output axis order.
/// </summary>
internal sealed class Contraction
{
    private readonly int[] _outPermutation;

    private readonly (int[] Shape, int[] Strides) _aLayout;
    private readonly (int[] Shape, int[] Strides) _bLayout;

    private Contraction((int[], int[]) aLayout, (int[], int[]) bLayout, int batch, int m, int n, int k, int[] productShape, int[] outPermutation, int[] outShape)
    {
        _aLayout = aLayout;
        _bLayout = bLayout;
        Batch = batch;
        M = m;
        N = n;
        K = k;
        ProductShape = productShape;
        _outPermutation = outPermutation;
        OutShape = outShape;
    }

    public int Batch { get; }

    public int M { get; }

    public int N { get; }

    public int K { get; }

    /// <summary>Dimensions of the product before permutation: batch axes, m axes, n axes.</summary>
    public int[] ProductShape { get; }

    /// <summary>Dimensions of the output in the expression's order.</summary>
    public int[] OutShape { get; }

    /// <summary>Plans <c>aAxes,bAxes-&gt;outAxes</c> for operands of the given shapes (operands with one-operand axes must be pre-reduced).</summary>
    public static Contraction Plan(string aAxes, int[] aShape, string bAxes, int[] bShape, string outAxes)
    {
        CheckLetters(aAxes, aShape, "first");
        CheckLetters(bAxes, bShape, "second");
        if (outAxes.Distinct().Count() != outAxes.Length)
        {
            throw new InvalidGraphException(null, $"einsum output '{outAxes}' repeats an axis");
        }

        var size = new Dictionary<char, int>();
        foreach ((string axes, int[] shape) in new[] { (aAxes, aShape), (bAxes, bShape) })
        {
            for (int i = 0; i < axes.Length; i++)
            {
                int d = shape[i];
                if (size.TryGetValue(axes[i], out int seen) && seen != d && seen != 1 && d != 1)
                {
                    throw new InvalidGraphException(null, $"einsum axis '{axes[i]}' is {seen} in one operand and {d} in the other");
                }

                size[axes[i]] = size.TryGetValue(axes[i], out int s0) && s0 != 1 ? s0 : d;
            }
        }

        foreach (char c in outAxes)
        {
            if (!size.ContainsKey(c))
            {
                throw new InvalidGraphException(null, $"einsum output axis '{c}' appears in no input");
            }
        }

        string batch = new(outAxes.Where(c => aAxes.Contains(c) && bAxes.Contains(c)).ToArray());
        string m = new(outAxes.Where(c => aAxes.Contains(c) && !bAxes.Contains(c)).ToArray());
        string n = new(outAxes.Where(c => !aAxes.Contains(c) && bAxes.Contains(c)).ToArray());
        string k = new(aAxes.Where(c => bAxes.Contains(c) && !outAxes.Contains(c)).ToArray());
        if (aAxes.Any(c => !bAxes.Contains(c) && !outAxes.Contains(c)) || bAxes.Any(c => !aAxes.Contains(c) && !outAxes.Contains(c)))
        {
            throw new InvalidOperationException("one-operand axes must be summed before planning");
        }

        int Product(string letters) => letters.Aggregate(1, (p, c) => checked(p * size[c]));
        (int[], int[]) aLayout = StridedLayout(aAxes, aShape, batch + m + k, size);
        (int[], int[]) bLayout = StridedLayout(bAxes, bShape, batch + k + n, size);
        string productAxes = batch + m + n;
        int[] productShape = productAxes.Select(c => size[c]).ToArray();
        int[] perm = outAxes.Select(c => productAxes.IndexOf(c)).ToArray();
        int[] outShape = outAxes.Select(c => size[c]).ToArray();
        return new Contraction(aLayout, bLayout, Product(batch), Product(m), Product(n), Product(k), productShape, perm, outShape);
    }

    /// <summary>Sums the axes of <paramref name="axes"/> that appear in neither <paramref name="other"/> nor <paramref name="outAxes"/>.</summary>
    public static (float[] Data, int[] Shape, string Axes) ReduceLonely(float[] data, int[] shape, string axes, string other, string outAxes)
    {
        string keep = new(axes.Where(c => other.Contains(c) || outAxes.Contains(c)).ToArray());
        if (keep.Length == axes.Length)
        {
            return (data, shape, axes);
        }

        int[] keptShape = keep.Select(c => shape[axes.IndexOf(c)]).ToArray();
        var result = new float[TensorValue.Volume(keptShape)];
        int[] keptStrides = Layout.Strides(keptShape);
        var strides = new int[axes.Length];
        for (int i = 0; i < axes.Length; i++)
        {
            int j = keep.IndexOf(axes[i]);
            strides[i] = j >= 0 ? keptStrides[j] : 0;
        }

        var map = new int[data.Length];
        Layout.FillMap(map, shape, strides, 0);
        for (int i = 0; i < data.Length; i++)
        {
            result[map[i]] += data[i];
        }

        return (result, keptShape, keep);
    }

    /// <summary>Runs the contraction on f32 data; the result is in output axis order.</summary>
    public float[] RunF32(float[] a, float[] b, ParallelOptions parallel)
    {
        float[] la = Layout.StridedCopy(a, _aLayout.Shape, _aLayout.Strides, 0);
        float[] lb = Layout.StridedCopy(b, _bLayout.Shape, _bLayout.Strides, 0);
        float[] product = Gemm.Multiply(la, lb, Batch, M, N, K, parallel);
        return Permute(product);
    }

    /// <summary>Runs the contraction with a plain sequential sum in <typeparamref name="T"/> (integers exactly, f64).</summary>
    public T[] RunSequential<T>(T[] a, T[] b)
        where T : System.Numerics.INumber<T>
    {
        T[] la = Layout.StridedCopy(a, _aLayout.Shape, _aLayout.Strides, 0);
        T[] lb = Layout.StridedCopy(b, _bLayout.Shape, _bLayout.Strides, 0);
        var product = new T[Batch * M * N];
        for (int t = 0; t < Batch; t++)
        {
            for (int i = 0; i < M; i++)
            {
                for (int j = 0; j < N; j++)
                {
                    T s = T.Zero;
                    int ab = ((t * M) + i) * K;
                    int bb = (t * K * N) + j;
                    for (int p = 0; p < K; p++)
                    {
                        s += la[ab + p] * lb[bb + (p * N)];
                    }

                    product[(((t * M) + i) * N) + j] = s;
                }
            }
        }

        return Permute(product);
    }

    private T[] Permute<T>(T[] product)
    {
        DatumType type = typeof(T) == typeof(float) ? DatumType.F32 : typeof(T) == typeof(double) ? DatumType.F64 : DatumType.I64;
        TensorValue p = TensorValue.Wrap(type, ProductShape, product);
        return Layout.Permute(p, _outPermutation).Items<T>();
    }

    // Shape of the layout and, per layout axis, the operand's stride (0 where the operand lacks the axis or has size 1).
    private static (int[] Shape, int[] Strides) StridedLayout(string axes, int[] shape, string layout, Dictionary<char, int> size)
    {
        int[] strides = Layout.Strides(shape);
        int[] layoutShape = layout.Select(c => size[c]).ToArray();
        var layoutStrides = new int[layout.Length];
        for (int i = 0; i < layout.Length; i++)
        {
            int j = axes.IndexOf(layout[i]);
            layoutStrides[i] = j >= 0 && shape[j] != 1 ? strides[j] : 0;
        }

        return (layoutShape, layoutStrides);
    }

    private static void CheckLetters(string axes, int[] shape, string which)
    {
        if (axes.Length != shape.Length)
        {
            throw new InvalidGraphException(null, $"einsum {which} operand '{axes}' has {axes.Length} axes but the value has rank {shape.Length}");
        }

        if (axes.Distinct().Count() != axes.Length)
        {
            throw new UnsupportedFeatureException(null, null, $"einsum operand '{axes}' repeats an axis (diagonals are not supported)");
        }
    }
}
