using System.Runtime.InteropServices;
using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// <c>MatMul</c> (numpy semantics: rank-1 operands promoted and the added axis removed, leading axes broadcast) as NNEF
/// <c>matmul</c>, or by a constant f32 matrix as <c>linear</c> on the transposed weight (Q4_0-eligible); <c>Gemm</c> as <c>linear</c> when it is a <c>torch.nn.Linear</c> (constant <c>B</c> read transposed,
/// <c>alpha = 1</c>) so that the weight is a candidate for Q4_0, else as <c>matmul</c> with scaling and bias;
/// <c>Einsum</c> (explicit equations without ellipsis) as <c>tract_core_einsum</c>.
/// </summary>
internal static class MatMulOps
{
    public static void Register(Dictionary<string, OpTranslation> t)
    {
        t["MatMul"] = MatMul;
        t["Gemm"] = Gemm;
        t["Einsum"] = Einsum;
    }

    private static void MatMul(NodeContext c)
    {
        OnnxValue a = c.In(0);
        OnnxValue b = c.In(1);
        if (!a.DType.IsFloat() || a.DType != b.DType)
        {
            throw c.Unsupported($"MatMul of {a.DType.Name()} by {b.DType.Name()} (float operands of one type only)");
        }

        if (a.Rank == 0 || b.Rank == 0)
        {
            throw c.Invalid("MatMul operands must have rank 1 or more");
        }

        if (b is ConstValue { Rank: 2, DType: DType.F32 } weight && a.Rank >= 2 && a.DType == DType.F32)
        {
            c.Out(ByConstantMatrix(c, c.T.Runtime(a), weight));
            return;
        }

        GraphValue x = c.T.Runtime(a);
        GraphValue y = c.T.Runtime(b);
        bool vectorA = a.Rank == 1;
        bool vectorB = b.Rank == 1;
        if (vectorA)
        {
            x = c.B.Unsqueeze(x, [0]);
        }

        if (vectorB)
        {
            y = c.B.Unsqueeze(y, [1]);
        }

        int rank = Math.Max(x.Rank, y.Rank);
        x = c.B.AlignRank(x, rank);
        y = c.B.AlignRank(y, rank);
        bool squeeze = vectorA || vectorB;
        GraphValue r = c.B.MatMul(x, y, name: squeeze ? c.Hint() + "_2d" : c.Hint());
        if (squeeze)
        {
            List<int> axes = [];
            if (vectorA)
            {
                axes.Add(rank - 2);
            }

            if (vectorB)
            {
                axes.Add(rank - 1);
            }

            r = c.B.Squeeze(r, axes, c.Hint());
        }

        c.Out(r);
    }

    /// <summary>
    /// <c>x · W</c> with a constant matrix <c>W [K, N]</c> as <c>linear(x, Wᵀ)</c> (the weight stored transposed,
    /// <c>[N, K]</c>, as torch's <c>Linear</c> holds it), leading axes of <c>x</c> flattened around it: the form whose
    /// weight a compression method may turn into Q4_0.
    /// </summary>
    private static GraphValue ByConstantMatrix(NodeContext c, GraphValue x, ConstValue weight)
    {
        long k = weight.Shape[0];
        long n = weight.Shape[1];
        if (x.Shape[^1] != Dim.Of(k))
        {
            throw c.Invalid($"MatMul of {x} by {weight}: inner dimensions differ");
        }

        // Transposed from positional reads of the weight, a block of rows at a time, into a pooled buffer the writer
        // returns once the tensor is written: neither float copies left to the garbage collector nor mapped pages kept
        // resident, each of which made a 1 GiB model's export grow by the size of its weights
        // (scripts/export-peak-rss.sh, SYNTHETIC_MB).
        var source = TensorSource.Computed(DType.F32, new Tensors.Shape(n, k), () =>
        {
            using Tensor t = weight.OpenTensor();
            OwnedTensorData data = OwnedTensorData.Allocate(t.Data.ByteLength, clear: false);
            TransposeFrom(t.Data, MemoryMarshal.Cast<byte, float>(data.Span), (int)k, (int)n);
            return new Tensor(DType.F32, new Tensors.Shape(n, k), data);
        });
        GraphValue filter = c.B.Variable(weight.Name, source, weight.Name + "_t");
        if (x.Rank == 2)
        {
            return c.B.Linear(x, filter, null, c.Hint());
        }

        Dim[] leading = [.. x.Shape.Take(x.Rank - 1)];
        GraphValue rows = c.B.Reshape(x, [ShapeOps.Product(leading), k], c.Hint() + "_rows");
        GraphValue y = c.B.Linear(rows, filter, null, c.Hint() + "_2d");
        return c.B.Reshape(y, [.. leading, n], c.Hint());
    }

    /// <summary>
    /// <paramref name="target"/> [cols, rows] = transpose of the f32 matrix [rows, cols] held by <paramref name="source"/>,
    /// read a block of about 1 MiB of rows at a time.
    /// </summary>
    internal static void TransposeFrom(TensorData source, Span<float> target, int rows, int cols)
    {
        int block = Math.Max(1, (1 << 20) / Math.Max(1, cols * sizeof(float)));
        float[] buffer = System.Buffers.ArrayPool<float>.Shared.Rent(Math.Min(rows, block) * cols);
        try
        {
            for (int r0 = 0; r0 < rows; r0 += block)
            {
                int count = Math.Min(block, rows - r0);
                Span<float> rowsRead = buffer.AsSpan(0, count * cols);
                source.Read((long)r0 * cols * sizeof(float), MemoryMarshal.AsBytes(rowsRead));
                for (int col = 0; col < cols; col++)
                {
                    Span<float> column = target.Slice((col * rows) + r0, count);
                    for (int r = 0; r < count; r++)
                    {
                        column[r] = rowsRead[(r * cols) + col];
                    }
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(buffer);
        }
    }

    private static void Gemm(NodeContext c)
    {
        OnnxValue a = c.In(0);
        OnnxValue b = c.In(1);
        if (a.Rank != 2 || b.Rank != 2)
        {
            throw c.Invalid($"Gemm operands must be matrices, not of ranks {a.Rank} and {b.Rank}");
        }

        if (a.DType != DType.F32 || b.DType != DType.F32)
        {
            throw c.Unsupported($"Gemm on {a.DType.Name()} (f32 only)");
        }

        double alpha = c.A.GetFloat("alpha", 1f);
        double beta = c.A.GetFloat("beta", 1f);
        bool transA = c.A.GetInt("transA", 0) != 0;
        bool transB = c.A.GetInt("transB", 0) != 0;
        OnnxValue? bias = c.Has(2) && beta != 0 ? c.In(2) : null;
        if (bias is not null && beta != 1)
        {
            bias = ElementWiseOps.Binary(c, "mul", bias, new ConstValue(c.Hint() + "_beta", Known.OfReals(DType.F32, [], [beta])), DType.F32, (x, y) => x * y, null, c.Hint() + "_bias");
        }

        bool hasScale = alpha != 1;
        if (transB && !transA && !hasScale && b is ConstValue)
        {
            // torch.nn.Linear: linear(A, W, bias) with the bias as a [1, N] row.
            Arg biasArg = bias is null ? Arg.Float(0.0) : c.T.Operand(bias, 2, DType.F32, c.Hint() + "_bias");
            c.Out(c.B.Linear(c.Run(0), c.T.Runtime(b), biasArg, c.Hint()));
            return;
        }

        GraphValue product = c.B.MatMul(c.Run(0), c.T.Runtime(b), transA, transB, bias is null && !hasScale ? c.Hint() : c.Hint() + "_ab");
        if (hasScale)
        {
            product = c.B.Mul(product, Arg.Float(alpha), bias is null ? c.Hint() : c.Hint() + "_scaled");
        }

        c.Out(bias is null ? product : ElementWiseOps.Emit(c, "add", new RuntimeValue(product), bias));
    }

    private static void Einsum(NodeContext c)
    {
        string equation = c.A.GetString("equation").Replace(" ", string.Empty, StringComparison.Ordinal);
        if (equation.Contains("...", StringComparison.Ordinal) || !equation.Contains("->", StringComparison.Ordinal))
        {
            throw c.Unsupported($"Einsum equation '{equation}' (explicit equations without '...' only)");
        }

        string[] inputs = equation[..equation.IndexOf("->", StringComparison.Ordinal)].Split(',');
        if (inputs.Length != c.Node.Inputs.Count)
        {
            throw c.Invalid($"equation '{equation}' names {inputs.Length} operand(s), the node has {c.Node.Inputs.Count}");
        }

        List<GraphValue> operands = [];
        for (int i = 0; i < inputs.Length; i++)
        {
            if (c.In(i).Rank != inputs[i].Length)
            {
                throw c.Invalid($"operand {i} has rank {c.In(i).Rank}, the equation gives it '{inputs[i]}'");
            }

            operands.Add(c.Run(i));
        }

        if (c.TypeOf(0) != DType.F32)
        {
            throw c.Unsupported($"Einsum on {c.TypeOf(0).Name()} (f32 only)");
        }

        c.Out(c.B.Einsum(equation, DatumType.FromDType(DType.F32), operands, c.Hint()));
    }
}
