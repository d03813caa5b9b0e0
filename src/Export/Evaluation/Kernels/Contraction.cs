using TorchToNnef.Errors;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// A two-operand einsum reduced to batched matrix products: axes are classified as batch (in both operands and the
/// output), m (first operand and output), n (second operand and output) and k (both operands, summed); axes found in
/// one operand only and not in the output are summed beforehand. Size-1 axes broadcast against the other operand.
/// Each operand is read in place as a strided view — its m (n) axes and its k axes each collapse to one stride, batch
/// items are offsets — so a transposed operand or a broadcast batch costs no copy; only an operand whose m, n or k
/// axes cannot be walked with one stride is copied to the canonical layout. The <c>[batch, m, n]</c> product is
/// written in place when that is the output's axis order, else permuted to it.
/// </summary>
internal sealed class Contraction
{
    /// <summary>
    /// Bytes of Q4_0 panels laid at once when a product streams a weight from its file (<see cref="BlockQuantData.StreamsRows"/>):
    /// large enough that each block's product keeps every core busy and its set-up costs nothing, small enough that the
    /// largest matrix of a model (a 128k x 4096 output head: 295 MB laid whole) costs no more memory than a small one.
    /// </summary>
    internal const long StreamBlockBytes = 4L << 20;

    private readonly int[] _outPermutation;
    private readonly OperandLayout _a;
    private readonly OperandLayout _b;

    private Contraction(OperandLayout a, OperandLayout b, int batch, int m, int n, int k, int[] productShape, int[] outPermutation, int[] outShape)
    {
        _a = a;
        _b = b;
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
        string productAxes = batch + m + n;
        int[] productShape = productAxes.Select(c => size[c]).ToArray();
        int[] perm = outAxes.Select(c => productAxes.IndexOf(c)).ToArray();
        int[] outShape = outAxes.Select(c => size[c]).ToArray();
        return new Contraction(
            new OperandLayout(aAxes, aShape, batch, m, k, size),
            new OperandLayout(bAxes, bShape, batch, n, k, size),
            Product(batch), Product(m), Product(n), Product(k), productShape, perm, outShape);
    }

    /// <summary>
    /// Sums the axes of <paramref name="axes"/> that appear in neither <paramref name="other"/> nor <paramref name="outAxes"/>,
    /// adding values in the order they are stored.
    /// </summary>
    public static (float[] Data, int[] Shape, string Axes) ReduceLonely(float[] data, int[] shape, string axes, string other, string outAxes)
    {
        string keep = new(axes.Where(c => other.Contains(c) || outAxes.Contains(c)).ToArray());
        if (keep.Length == axes.Length)
        {
            return (data, shape, axes);
        }

        int[] keptShape = keep.Select(c => shape[axes.IndexOf(c)]).ToArray();
        int[] accShape = axes.Select((c, i) => keep.Contains(c) ? shape[i] : 1).ToArray();
        var result = new float[TensorValue.Volume(keptShape)];
        AccumulateInOrder(data, shape, result, accShape);
        return (result, keptShape, keep);
    }

    /// <summary>
    /// Runs the contraction on operand views (<paramref name="a"/> and <paramref name="b"/> give each element's storage
    /// layout as a row-major tensor of the planned shapes); the result is in output axis order.
    /// </summary>
    /// <param name="a">First operand.</param>
    /// <param name="b">Second operand.</param>
    /// <param name="width">Kernel width.</param>
    /// <param name="threads">Worker threads.</param>
    /// <param name="streamBlockBytes">Panels laid at once when B is a Q4_0 weight read from its file by blocks of rows.</param>
    public float[] RunF32(OperandSource a, OperandSource b, KernelWidth width, int threads, long streamBlockBytes = StreamBlockBytes)
    {
        (MatrixOperand aOp, int[] aOffsets) = _a.View(a, M, K);
        (MatrixOperand bOp, int[] bOffsets) = _b.View(b, N, K);
        if (aOp.Storage == OperandStorage.Q40)
        {
            aOp.Q40!.EnsureInMemory();
        }

        if (bOp.Storage == OperandStorage.Q40)
        {
            bool wholeRows = bOp.PStride == 1 && bOp.XStride == K;
            if (wholeRows && bOp.Offset == 0 && bOffsets.All(o => o == 0) && bOp.Q40!.StreamsRows(K) && bOp.Q40.SourceRows == N)
            {
                // B is every row of a Q4_0 weight still in its file (a linear layer of a run that releases weights):
                // a block of rows at a time is laid as panels and multiplied, so the weight is never held whole.
                return Permute(RunStreamed(aOp, aOffsets, bOp, width, threads, streamBlockBytes));
            }

            bOp.Q40!.EnsureInMemory();
            if (wholeRows)
            {
                // B reads whole rows of a Q4_0 weight (a linear layer): re-lay it as panels once, kept with the weight.
                bOp.Q40.PreparePanels(K);
            }
        }

        float[] product = TensorPool.Allocate<float>(checked(Batch * M * N));
        Gemm.Run(width, new GemmProblem
        {
            Batch = Batch,
            M = M,
            N = N,
            K = K,
            A = aOp,
            B = bOp,
            ABatchOffsets = aOffsets,
            BBatchOffsets = bOffsets,
            C = product,
        }, threads);
        return Permute(product);
    }

    // C = A · Bᵀ with B the rows of a Q4_0 matrix in its file, by blocks of rows (output columns): each block's panels
    // are laid from the file, multiplied into C's columns [j0, j0 + n) and given back for the next block. Every element
    // of C is the same chain of products as with the whole matrix laid (the kernels do not depend on the blocking), so
    // the bits are the same; what changes is that about StreamBlockBytes of panels exist at once instead of the matrix.
    private float[] RunStreamed(MatrixOperand aOp, int[] aOffsets, MatrixOperand bOp, KernelWidth width, int threads, long blockBytes)
    {
        BlockQuantData weight = bOp.Q40!;
        float[] product = TensorPool.Allocate<float>(checked(Batch * M * N));
        // Whole panels of 16 rows, at least one.
        int rowsPerBlock = (int)Math.Min(N, Math.Max(Q40Panels.PanelRows, blockBytes / Q40Panels.BytesPerRow(K) / Q40Panels.PanelRows * Q40Panels.PanelRows));
        int[] cOffsets = new int[Batch];
        for (int j0 = 0; j0 < N; j0 += rowsPerBlock)
        {
            int n = Math.Min(rowsPerBlock, N - j0);
            Q40Panels panels = weight.LayRows(j0, n);
            try
            {
                for (int t = 0; t < Batch; t++)
                {
                    cOffsets[t] = (t * M * N) + j0;
                }

                Gemm.Run(width, new GemmProblem
                {
                    Batch = Batch,
                    M = M,
                    N = n,
                    K = K,
                    A = aOp,
                    B = MatrixOperand.OfQ40(new BlockQuantData(panels), bOp.RoundToHalf, 0, K, 1),
                    ABatchOffsets = aOffsets,
                    C = product,
                    Ldc = N,
                    CBatchOffsets = cOffsets,
                }, threads);
            }
            finally
            {
                weight.ReturnRows(panels);
            }
        }

        return product;
    }

    /// <summary>Runs the contraction with a plain sequential sum in <typeparamref name="T"/> (integers exactly, f64).</summary>
    public T[] RunSequential<T>(T[] a, T[] b)
        where T : System.Numerics.INumber<T>
    {
        T[] la = _a.Canonical(a);
        T[] lb = _b.Canonical(b);
        var product = new T[Batch * M * N];
        for (int t = 0; t < Batch; t++)
        {
            for (int i = 0; i < M; i++)
            {
                for (int j = 0; j < N; j++)
                {
                    T s = T.Zero;
                    int ab = ((t * M) + i) * K;
                    int bb = ((t * N) + j) * K;
                    for (int p = 0; p < K; p++)
                    {
                        s += la[ab + p] * lb[bb + p];
                    }

                    product[(((t * M) + i) * N) + j] = s;
                }
            }
        }

        return Permute(product);
    }

    // acc (shape accShape: 1 on the summed axes) += data, element by element in data's order.
    private static void AccumulateInOrder(float[] data, int[] shape, float[] acc, int[] accShape)
    {
        if (data.Length == 0)
        {
            return;
        }

        BroadcastPlan plan = BroadcastPlan.Create(shape, accShape, shape);
        BroadcastPlan.Cursor cursor = plan.At(0);
        int sa = plan.InnerStrides[0];
        for (int r = 0; r < plan.Rows; r++)
        {
            int ao = cursor.Offsets[0];
            int d = cursor.Offsets[1];
            for (int i = 0; i < plan.Inner; i++)
            {
                acc[ao + (i * sa)] += data[d + i];
            }

            cursor.Next();
        }
    }

    private T[] Permute<T>(T[] product)
    {
        bool identity = true;
        for (int i = 0; i < _outPermutation.Length; i++)
        {
            identity &= _outPermutation[i] == i;
        }

        if (identity)
        {
            return product;
        }

        DatumType type = typeof(T) == typeof(float) ? DatumType.F32 : typeof(T) == typeof(double) ? DatumType.F64 : DatumType.I64;
        TensorValue p = TensorValue.Wrap(type, ProductShape, product);
        return Layout.Permute(p, _outPermutation).Items<T>();
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

    /// <summary>
    /// One operand's axes grouped as batch, x (m or n) and k, with its stride per group letter (0 where it lacks the
    /// axis or has size 1).
    /// </summary>
    private sealed class OperandLayout
    {
        private readonly int[] _batchSizes;
        private readonly int[] _batchStrides;
        private readonly int[] _xSizes;
        private readonly int[] _xStrides;
        private readonly int[] _kSizes;
        private readonly int[] _kStrides;

        public OperandLayout(string axes, int[] shape, string batch, string x, string k, Dictionary<char, int> size)
        {
            int[] strides = Layout.Strides(shape);
            int StrideOf(char c)
            {
                int j = axes.IndexOf(c);
                return j >= 0 && shape[j] != 1 ? strides[j] : 0;
            }

            _batchSizes = batch.Select(c => size[c]).ToArray();
            _batchStrides = batch.Select(StrideOf).ToArray();
            _xSizes = x.Select(c => size[c]).ToArray();
            _xStrides = x.Select(StrideOf).ToArray();
            _kSizes = k.Select(c => size[c]).ToArray();
            _kStrides = k.Select(StrideOf).ToArray();
        }

        /// <summary>The operand as a matrix view plus per batch item offsets (a canonical copy when a group has no single stride).</summary>
        public (MatrixOperand Operand, int[] BatchOffsets) View(OperandSource source, int xCount, int kCount)
        {
            if (Collapse(_xSizes, _xStrides) is int xs && Collapse(_kSizes, _kStrides) is int ks)
            {
                return (source.View(0, xs, ks), Offsets(_batchSizes, _batchStrides));
            }

            // Canonical [batch, x, k] copy of this operand only.
            float[] canonical = Canonical(source.ToSingle());
            int batch = canonical.Length / Math.Max(1, xCount * kCount);
            return (MatrixOperand.OfSingle(canonical, 0, kCount, 1), Enumerable.Range(0, batch).Select(t => t * xCount * kCount).ToArray());
        }

        /// <summary>The operand's values copied to <c>[batch, x, k]</c> order.</summary>
        public T[] Canonical<T>(T[] values) =>
            Layout.StridedCopy(values, [.. _batchSizes, .. _xSizes, .. _kSizes], [.. _batchStrides, .. _xStrides, .. _kStrides], 0);

        // One stride walking every axis of the group in order, or null when there is none.
        private static int? Collapse(int[] sizes, int[] strides)
        {
            int? stride = null;
            for (int i = sizes.Length - 1; i >= 0; i--)
            {
                if (sizes[i] == 1)
                {
                    continue;
                }

                if (stride is null)
                {
                    stride = strides[i];
                    continue;
                }

                // The axis outside must step over the whole inner run.
                int inner = 1;
                for (int j = i + 1; j < sizes.Length; j++)
                {
                    inner *= sizes[j];
                }

                if (strides[i] != stride.Value * inner)
                {
                    return null;
                }
            }

            return stride ?? 0;
        }

        private static int[] Offsets(int[] sizes, int[] strides)
        {
            int count = sizes.Aggregate(1, (a, b) => a * b);
            var offsets = new int[count];
            var index = new int[sizes.Length];
            int offset = 0;
            for (int t = 0; t < count; t++)
            {
                offsets[t] = offset;
                for (int a = sizes.Length - 1; a >= 0; a--)
                {
                    index[a]++;
                    offset += strides[a];
                    if (index[a] < sizes[a])
                    {
                        break;
                    }

                    offset -= strides[a] * index[a];
                    index[a] = 0;
                }
            }

            return offsets;
        }
    }
}
