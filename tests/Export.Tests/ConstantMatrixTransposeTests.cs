using TorchToNnef.Export.Onnx.Ops;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// The export-time transpose of a constant MatMul weight (read by blocks of rows) against an element-by-element
/// transpose: several blocks with a shorter last one, and rows longer than a block.
/// </summary>
public sealed class ConstantMatrixTransposeTests
{
    [Theory]
    [InlineData(1000, 300)]
    [InlineData(7, 5)]
    [InlineData(3, 300_000)]
    [InlineData(1, 1)]
    public void Transpose_by_blocks_matches_the_scalar_transpose(int rows, int cols)
    {
        var rng = new Random(rows + cols);
        float[] values = [.. Enumerable.Range(0, rows * cols).Select(_ => rng.NextSingle())];
        using Tensor source = Tensor.FromFloats(new Shape(rows, cols), values);
        var got = new float[rows * cols];
        MatMulOps.TransposeFrom(source.Data, got, rows, cols);
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                Assert.Equal(values[(r * cols) + c], got[(c * rows) + r]);
            }
        }
    }
}
