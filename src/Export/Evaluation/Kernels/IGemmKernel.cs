namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// The compute of f32 matrix products at one vector width; <see cref="GemmDriver{TKernel}"/> owns blocking, packing,
/// tails and threads. Every method computes each output as one chain of fused multiply-adds over the summed index in
/// increasing order, starting from +0 (<c>s = fma(a[p], b[p], s)</c>), so all widths and paths give the same bits.
/// </summary>
internal interface IGemmKernel
{
    /// <summary>The width this kernel runs at.</summary>
    static abstract KernelWidth Width { get; }

    /// <summary>Rows of A per register tile.</summary>
    static abstract int MR { get; }

    /// <summary>Columns of B per register tile.</summary>
    static abstract int NR { get; }

    /// <summary>
    /// One <c>MR × NR</c> tile: <c>c[i·ldc + j] = chain over p of a[p·MR + i] · b[p·NR + j]</c>, continuing from the values in
    /// <paramref name="c"/> when <paramref name="accumulate"/> (a later block of the summed index), from +0 otherwise.
    /// Bounds: <paramref name="a"/> holds <c>kc·MR</c>, <paramref name="b"/> <c>kc·NR</c> values, <paramref name="c"/> MR rows of NR.
    /// </summary>
    static abstract void Tile(nint kc, ref float a, ref float b, ref float c, nint ldc, bool accumulate);

    /// <summary>One row: <c>c[j] = chain over p of a[p] · b[p·ldb + j]</c> for j &lt; n (B contiguous along j).</summary>
    static abstract void GemvRowMajor(int n, int k, ref float a, ref float b, nint ldb, ref float c);

    /// <summary>One row with B stored transposed: <c>c[j] = chain over p of a[p] · b[j·ldb + p]</c> (B contiguous along p).</summary>
    static abstract void GemvTransposed(int n, int k, ref float a, ref float b, nint ldb, ref float c);

    /// <summary>
    /// One row against Q4_0 panels <c>[panel0, panel0 + panels)</c>: <c>c[16·(P − panel0) + l] = chain over p of a[p] · w[16P + l, p]</c>,
    /// weights decoded exactly in registers. <paramref name="a"/> holds <see cref="Q40Panels.Columns"/> values.
    /// </summary>
    static abstract void GemvQ40(Q40Panels w, int panel0, int panels, ref float a, ref float c);

    /// <summary>Decodes (panel, block) exactly: column p of the block (32 of them) to <c>dst[p·stride + l]</c>, l the panel lane.</summary>
    static abstract void DecodeQ40(Q40Panels w, int panel, int block, ref float dst, nint stride);
}
