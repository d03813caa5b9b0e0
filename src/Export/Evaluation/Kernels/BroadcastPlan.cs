namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// How an element-wise operation walks its inputs over a broadcast output, without any per-element index: each input is
/// a strided view of the output shape (stride 0 on broadcast axes); axes of size 1 are dropped and neighbouring axes
/// merged wherever every input's strides allow, leaving an innermost run of <see cref="Inner"/> elements (each input
/// contiguous, constant or strided along it) repeated over <see cref="Rows"/> rows, whose start offsets a
/// <see cref="Cursor"/> steps through.
/// </summary>
internal sealed class BroadcastPlan
{
    private readonly int[] _outerSizes;
    private readonly int[][] _outerStrides;

    private BroadcastPlan(int inner, int[] innerStrides, int[] outerSizes, int[][] outerStrides)
    {
        Inner = inner;
        InnerStrides = innerStrides;
        _outerSizes = outerSizes;
        _outerStrides = outerStrides;
        Rows = 1;
        foreach (int s in outerSizes)
        {
            Rows *= s;
        }
    }

    /// <summary>Elements per row.</summary>
    public int Inner { get; }

    /// <summary>Per input, its stride along the row (0: one value for the whole row, 1: contiguous).</summary>
    public int[] InnerStrides { get; }

    /// <summary>Number of rows (the output is <c>Rows × Inner</c> contiguous values).</summary>
    public int Rows { get; }

    /// <summary>
    /// Plans inputs of <paramref name="inputShapes"/> (each of the output's rank, every axis equal to the output's or 1)
    /// over <paramref name="outShape"/>.
    /// </summary>
    public static BroadcastPlan Create(int[] outShape, params int[][] inputShapes)
    {
        int inputs = inputShapes.Length;
        var sizes = new List<int>();
        var strides = new List<int[]>();
        var inputStrides = new int[inputs][];
        for (int k = 0; k < inputs; k++)
        {
            inputStrides[k] = Layout.Strides(inputShapes[k]);
        }

        for (int axis = 0; axis < outShape.Length; axis++)
        {
            if (outShape[axis] == 1)
            {
                continue;
            }

            int[] s = new int[inputs];
            for (int k = 0; k < inputs; k++)
            {
                s[k] = inputShapes[k][axis] == 1 ? 0 : inputStrides[k][axis];
            }

            // Merge with the previous axis when every input steps over both as over one.
            if (sizes.Count > 0)
            {
                int[] prev = strides[^1];
                int size = outShape[axis];
                bool merge = true;
                for (int k = 0; k < inputs && merge; k++)
                {
                    merge = prev[k] == s[k] * size;
                }

                if (merge)
                {
                    sizes[^1] *= size;
                    strides[^1] = s;
                    continue;
                }
            }

            sizes.Add(outShape[axis]);
            strides.Add(s);
        }

        if (sizes.Count == 0)
        {
            return new BroadcastPlan(1, new int[inputs], [], []);
        }

        int last = sizes.Count - 1;
        return new BroadcastPlan(sizes[last], strides[last], [.. sizes.Take(last)], [.. strides.Take(last)]);
    }

    /// <summary>A cursor on row <paramref name="row"/>.</summary>
    public Cursor At(int row) => new(this, row);

    /// <summary>Walks rows in order, keeping each input's offset of the current row.</summary>
    public sealed class Cursor
    {
        private readonly BroadcastPlan _plan;
        private readonly int[] _index;

        internal Cursor(BroadcastPlan plan, int row)
        {
            _plan = plan;
            _index = new int[plan._outerSizes.Length];
            Offsets = new int[plan.InnerStrides.Length];
            for (int axis = _index.Length - 1; axis >= 0; axis--)
            {
                _index[axis] = row % plan._outerSizes[axis];
                row /= plan._outerSizes[axis];
                for (int k = 0; k < Offsets.Length; k++)
                {
                    Offsets[k] += _index[axis] * plan._outerStrides[axis][k];
                }
            }
        }

        /// <summary>Per input, the offset of the current row's first element.</summary>
        public int[] Offsets { get; }

        /// <summary>Moves to the next row.</summary>
        public void Next()
        {
            for (int axis = _index.Length - 1; axis >= 0; axis--)
            {
                int[] s = _plan._outerStrides[axis];
                _index[axis]++;
                if (_index[axis] < _plan._outerSizes[axis])
                {
                    for (int k = 0; k < Offsets.Length; k++)
                    {
                        Offsets[k] += s[k];
                    }

                    return;
                }

                for (int k = 0; k < Offsets.Length; k++)
                {
                    Offsets[k] -= s[k] * (_index[axis] - 1);
                }

                _index[axis] = 0;
            }
        }
    }
}
