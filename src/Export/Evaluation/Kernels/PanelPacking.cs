using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// Copies a block of a <see cref="MatrixOperand"/> into the panels the register tiles read: x in
/// <c>[x0, x0 + count)</c>, p in <c>[p0, p0 + kc)</c>, panels of <c>width</c> values of x, panel-major then p-major
/// (<c>dst[(x / width)·kc·width + p·width + x % width]</c>), x past <c>count</c> zero. f16 values are widened and Q4_0
/// blocks decoded on the way, one block of the product at a time, so no converted copy of a whole operand exists.
/// Only values move: packing is exact and does not decide any result bit.
/// </summary>
internal static class PanelPacking
{
    /// <summary>Packs f32, f16 and Q4_0 (row layout or panels) operands of any strides.</summary>
    public static void Pack(in MatrixOperand src, int x0, int count, int p0, int kc, int width, Span<float> dst)
    {
        switch (src.Storage)
        {
            case OperandStorage.F32:
                PackSingle(src.Single!, src.Offset + (x0 * src.XStride) + (p0 * src.PStride), src.XStride, src.PStride, count, kc, width, dst);
                return;
            case OperandStorage.F16:
            case OperandStorage.Q40:
                // Convert the block to f32 (x-major when p is the contiguous axis, else p-major), then pack that.
                Span<float> block = GemmScratch.Current.Get(GemmScratch.Converted, count * kc);
                if (src.XStride == 1 && src.PStride != 1)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        Convert(src, src.Offset + ((p0 + p) * src.PStride) + x0, block.Slice(p * count, count));
                    }

                    PackSingle(block, 0, 1, count, count, kc, width, dst);
                }
                else
                {
                    for (int x = 0; x < count; x++)
                    {
                        int start = src.Offset + ((x0 + x) * src.XStride) + (p0 * src.PStride);
                        if (src.PStride == 1)
                        {
                            Convert(src, start, block.Slice(x * kc, kc));
                        }
                        else
                        {
                            for (int p = 0; p < kc; p++)
                            {
                                Convert(src, start + (p * src.PStride), block.Slice((x * kc) + p, 1));
                            }
                        }
                    }

                    PackSingle(block, 0, kc, 1, count, kc, width, dst);
                }

                return;
            case OperandStorage.ConvPatches:
                src.Patches!.Pack(x0, count, p0, kc, width, dst);
                return;
            default:
                throw new InvalidOperationException($"cannot pack {src.Storage} operands");
        }
    }

    /// <summary>Packs an f32 view starting at <paramref name="start"/>.</summary>
    public static void PackSingle(ReadOnlySpan<float> source, int start, int xStride, int pStride, int count, int kc, int width, Span<float> dst)
    {
        ref float s = ref Unsafe.Add(ref MemoryMarshal.GetReference(source), start);
        ref float d = ref MemoryMarshal.GetReference(dst);
        int panels = (count + width - 1) / width;
        for (int panel = 0; panel < panels; panel++)
        {
            int w = Math.Min(width, count - (panel * width));
            ref float from = ref Unsafe.Add(ref s, panel * width * (nint)xStride);
            ref float to = ref Unsafe.Add(ref d, panel * kc * width);
            if (xStride == 1)
            {
                // Each p is a contiguous run of w values.
                for (int p = 0; p < kc; p++)
                {
                    ref float row = ref Unsafe.Add(ref to, p * width);
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref from, p * (nint)pStride), w).CopyTo(MemoryMarshal.CreateSpan(ref row, w));
                    MemoryMarshal.CreateSpan(ref Unsafe.Add(ref row, w), width - w).Clear();
                }
            }
            else if (pStride == 1)
            {
                Transpose(ref from, xStride, w, kc, ref to, width);
            }
            else
            {
                for (int p = 0; p < kc; p++)
                {
                    ref float row = ref Unsafe.Add(ref to, p * width);
                    for (int x = 0; x < width; x++)
                    {
                        Unsafe.Add(ref row, x) = x < w ? Unsafe.Add(ref from, (x * (nint)xStride) + (p * (nint)pStride)) : 0f;
                    }
                }
            }
        }
    }

    // dst[p·width + x] = src[x·ld + p] for x < rows (rows contiguous along p), zero for rows ≤ x < width.
    private static void Transpose(ref float src, nint ld, int rows, int kc, ref float dst, int width)
    {
        int x = 0;
        if (Avx.IsSupported)
        {
            for (; x <= rows - 8; x += 8)
            {
                ref float r0 = ref Unsafe.Add(ref src, x * ld);
                int p = 0;
                for (; p <= kc - 8; p += 8)
                {
                    ref float c = ref Unsafe.Add(ref r0, p);
                    Transposes.LoadTransposed8x8(ref c, ld, out Vector256<float> v0, out Vector256<float> v1, out Vector256<float> v2, out Vector256<float> v3, out Vector256<float> v4, out Vector256<float> v5, out Vector256<float> v6, out Vector256<float> v7);
                    ref float o = ref Unsafe.Add(ref dst, (p * width) + x);
                    v0.StoreUnsafe(ref o);
                    v1.StoreUnsafe(ref Unsafe.Add(ref o, width));
                    v2.StoreUnsafe(ref Unsafe.Add(ref o, 2 * width));
                    v3.StoreUnsafe(ref Unsafe.Add(ref o, 3 * width));
                    v4.StoreUnsafe(ref Unsafe.Add(ref o, 4 * width));
                    v5.StoreUnsafe(ref Unsafe.Add(ref o, 5 * width));
                    v6.StoreUnsafe(ref Unsafe.Add(ref o, 6 * width));
                    v7.StoreUnsafe(ref Unsafe.Add(ref o, 7 * width));
                }

                for (; p < kc; p++)
                {
                    for (int r = 0; r < 8; r++)
                    {
                        Unsafe.Add(ref dst, (p * width) + x + r) = Unsafe.Add(ref src, ((x + r) * ld) + p);
                    }
                }
            }
        }

        for (; x < rows; x++)
        {
            ref float row = ref Unsafe.Add(ref src, x * ld);
            for (int p = 0; p < kc; p++)
            {
                Unsafe.Add(ref dst, (p * width) + x) = Unsafe.Add(ref row, p);
            }
        }

        if (rows < width)
        {
            for (int p = 0; p < kc; p++)
            {
                MemoryMarshal.CreateSpan(ref Unsafe.Add(ref dst, (p * width) + rows), width - rows).Clear();
            }
        }
    }

    // Consecutive values of the storage from `start` as f32 (f16 widened exactly; Q4_0 decoded, exact or f16-rounded).
    private static void Convert(in MatrixOperand src, int start, Span<float> destination)
    {
        if (src.Storage == OperandStorage.F16)
        {
            TensorPrimitives.ConvertToSingle(src.Half.AsSpan(start, destination.Length), destination);
        }
        else
        {
            src.Q40!.Dequantize(start, destination, src.RoundToHalf);
        }
    }
}
