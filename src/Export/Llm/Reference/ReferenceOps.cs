using System.Buffers;
using System.Numerics.Tensors;

namespace TorchToNnef.Export.Llm.Reference;

/// <summary>
/// The reference pass's arithmetic on row-major f32 activations. With <c>half</c>, every result is rounded to f16
/// once, after being computed in f32 from f16 operands (the f16 semantics of the evaluator and of tract).
/// </summary>
internal static class ReferenceOps
{
    /// <summary><c>y[t, r] = x[t, :] · W[r, :] (+ b[r])</c> for every row of <paramref name="weight"/>, parallel over windows of rows.</summary>
    public static float[] Linear(WeightRows weight, float[]? bias, float[] x, int tokens, bool half, ParallelOptions parallel) =>
        Linear(weight, bias, x, tokens, half, parallel, new float[tokens * weight.Rows]);

    /// <summary>As <see cref="Linear(WeightRows, float[], float[], int, bool, ParallelOptions)"/>, into <paramref name="y"/> (<c>tokens × rows</c> values), which it returns.</summary>
    public static float[] Linear(WeightRows weight, float[]? bias, float[] x, int tokens, bool half, ParallelOptions parallel, float[] y)
    {
        int outF = weight.Rows;
        int inF = weight.Columns;
        if (x.Length != tokens * inF)
        {
            throw new ArgumentException($"Linear expects {tokens}x{inF} inputs, got {x.Length} values.", nameof(x));
        }

        if (y.Length != tokens * outF)
        {
            throw new ArgumentException($"Linear writes {tokens}x{outF} outputs, got room for {y.Length} values.", nameof(y));
        }

        int perWindow = weight.RowsPerWindow;
        int windows = (outF + perWindow - 1) / perWindow;
        Parallel.For(
            0,
            windows,
            parallel,
            // Buffers from the shared pool, not new ones: a loop's workers are replaced often (each takes its own), and a
            // 1 MiB window per worker per product was a large-object allocation per few windows, garbage the collector
            // reclaimed late (a 7B verification's reference passes allocated GBs of it).
            () => (Bytes: ArrayPool<byte>.Shared.Rent(weight.WindowBytes), Row: ArrayPool<float>.Shared.Rent(inF)),
            (w, _, buffers) =>
            {
                int first = w * perWindow;
                weight.ForEachRow(first, Math.Min(perWindow, outF - first), buffers.Bytes, buffers.Row, (r, row) =>
                {
                    for (int t = 0; t < tokens; t++)
                    {
                        y[(t * outF) + r] = TensorPrimitives.Dot(x.AsSpan(t * inF, inF), row);
                    }
                });
                return buffers;
            },
            buffers =>
            {
                ArrayPool<byte>.Shared.Return(buffers.Bytes);
                ArrayPool<float>.Shared.Return(buffers.Row);
            });

        Round(y, half);
        if (bias is not null)
        {
            for (int t = 0; t < tokens; t++)
            {
                Span<float> yt = y.AsSpan(t * outF, outF);
                TensorPrimitives.Add(yt, bias, yt);
            }

            Round(y, half);
        }

        return y;
    }

    /// <summary>
    /// RMS norm of each <paramref name="width"/>-wide row: <c>w · (x / sqrt(mean(x²) + eps))</c>, the normalization in f32
    /// (transformers upcasts), its result rounded to the model dtype before the product with the weight.
    /// </summary>
    public static void RmsNorm(Span<float> rows, int width, float[] weight, double eps, bool half)
    {
        float epsilon = (float)eps;
        for (int i = 0; i < rows.Length; i += width)
        {
            Span<float> row = rows.Slice(i, width);
            float meanSquare = TensorPrimitives.SumOfSquares(row) / width;
            float scale = 1f / MathF.Sqrt(meanSquare + epsilon);
            TensorPrimitives.Multiply(row, scale, row);
            Round(row, half);
            TensorPrimitives.Multiply(row, weight, row);
            Round(row, half);
        }
    }

    /// <summary>
    /// Rotary embedding of <paramref name="heads"/> heads per token, token t at position <c>start + t</c>:
    /// <c>x · cos + rotate_half(x) · sin</c> with <c>rotate_half(x) = [-x2, x1]</c>. Angles and cos/sin are f32; in
    /// f16 the tables, both products and the sum are each rounded (as transformers computes an f16 model).
    /// </summary>
    public static void Rotate(Span<float> x, int tokens, int heads, int headDim, long start, float[] inverseFrequencies, bool half)
    {
        int halfDim = headDim / 2;
        Span<float> cos = stackalloc float[halfDim];
        Span<float> sin = stackalloc float[halfDim];
        for (int t = 0; t < tokens; t++)
        {
            float position = start + t;
            for (int i = 0; i < halfDim; i++)
            {
                float angle = position * inverseFrequencies[i];
                cos[i] = half ? HalfRounding.Round(MathF.Cos(angle)) : MathF.Cos(angle);
                sin[i] = half ? HalfRounding.Round(MathF.Sin(angle)) : MathF.Sin(angle);
            }

            for (int h = 0; h < heads; h++)
            {
                Span<float> v = x.Slice(((t * heads) + h) * headDim, headDim);
                for (int i = 0; i < halfDim; i++)
                {
                    float x1 = v[i];
                    float x2 = v[i + halfDim];
                    v[i] = Sum(x1 * cos[i], -x2 * sin[i], half);
                    v[i + halfDim] = Sum(x2 * cos[i], x1 * sin[i], half);
                }
            }
        }
    }

    /// <summary>SiLU-gated product <c>silu(gate) · up</c> into <paramref name="gate"/> (SiLU rounded once, then the product).</summary>
    public static void GatedSilu(Span<float> gate, ReadOnlySpan<float> up, bool half)
    {
        for (int i = 0; i < gate.Length; i++)
        {
            float g = gate[i];
            float silu = g / (1f + MathF.Exp(-g));
            gate[i] = half ? HalfRounding.Round(silu) : silu;
        }

        TensorPrimitives.Multiply(gate, up, gate);
        Round(gate, half);
    }

    /// <summary><c>x += y</c>, rounded.</summary>
    public static void AddInPlace(Span<float> x, ReadOnlySpan<float> y, bool half)
    {
        TensorPrimitives.Add(x, y, x);
        Round(x, half);
    }

    /// <summary>Rounds to f16 when <paramref name="half"/>.</summary>
    public static void Round(Span<float> values, bool half)
    {
        if (half)
        {
            HalfRounding.Round(values);
        }
    }

    private static float Sum(float a, float b, bool half) =>
        half ? HalfRounding.Round(HalfRounding.Round(a) + HalfRounding.Round(b)) : a + b;
}
