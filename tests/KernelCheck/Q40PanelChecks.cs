using System.Runtime.Intrinsics;
using TorchToNnef.Export.Evaluation.Kernels;
using TorchToNnef.Quant;
using TorchToNnef.Tensors;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// The Q4_0 panel layout: a round trip back to the row blocks (GGML nibble order, partial last panel), from a span and
/// from a payload read a window at a time (several windows, partial last one), the scalar
/// decode against the Quant library's dequantizer, each width's vector decode against the scalar decode, and the
/// vector f16 widening against the <see cref="Half"/> cast on all 65536 patterns.
/// </summary>
public static class Q40PanelChecks
{
    /// <summary>Returns one line per mismatching case.</summary>
    public static List<string> Run(int seeds)
    {
        var failures = new List<string>();
        HalfWidening(failures);
        for (int seed = 0; seed < seeds; seed++)
        {
            var rng = new Random(777 + seed);
            foreach ((int rows, int columns) in new[] { (1, 32), (16, 32), (17, 64), (40, 96), (5, 320) })
            {
                {
                    byte[] blocks = TestData.Blocks(rng, rows * columns / 32);
                    Q40Panels panels = Q40Panels.FromRowBlocks(blocks, rows, columns);
                    var back = new byte[blocks.Length];
                    panels.ToRowBlocks(0, rows, back);
                    if (!back.AsSpan().SequenceEqual(blocks))
                    {
                        failures.Add($"panels [{rows}, {columns}]: round trip to row blocks differs");
                    }

                    var expected = new float[rows * columns];
                    Q40Dequantizer.ToSingle(blocks, expected);
                    var decoded = new float[rows * columns];
                    for (int r = 0; r < rows; r++)
                    {
                        panels.DecodeRow(r, 0, decoded.AsSpan(r * columns, columns), roundToHalf: false);
                    }

                    GemmChecks.Compare(failures, $"panels [{rows}, {columns}]: scalar decode vs dequantizer", expected, decoded);
                    foreach (KernelWidth width in KernelWidths.Supported)
                    {
                        Decode(failures, width, panels, decoded);
                    }

                    ReadByWindows(failures, blocks, rows, columns, decoded);
                }
            }

            // Matrices of several windows of panels read by offset (28 panels of 16 rows per 1 MiB window at 4096
            // columns): a whole number of windows, one row past it, and a partial last panel in a partial window.
            foreach ((int rows, int columns) in new[] { (448, 4096), (449, 4096), (1000, 4096) })
            {
                byte[] blocks = TestData.Blocks(rng, rows * columns / 32);
                var expected = new float[rows * columns];
                Q40Dequantizer.ToSingle(blocks, expected);
                ReadByWindows(failures, blocks, rows, columns, expected);
            }
        }

        return failures;
    }

    // Panels built from a payload read a window at a time: the same row blocks back, and every width decodes them (the
    // padding rows included) as the row-major values.
    private static void ReadByWindows(List<string> failures, byte[] blocks, int rows, int columns, float[] rowMajor)
    {
        using var data = OwnedTensorData.Wrap(blocks);
        Q40Panels panels = Q40Panels.FromRowBlocks(data, rows, columns);
        var back = new byte[blocks.Length];
        panels.ToRowBlocks(0, rows, back);
        if (!back.AsSpan().SequenceEqual(blocks))
        {
            failures.Add($"panels [{rows}, {columns}] read by windows: round trip to row blocks differs");
        }

        foreach (KernelWidth width in KernelWidths.Supported)
        {
            Decode(failures, width, panels, rowMajor);
        }
    }

    // Each (panel, block) decoded by the width's kernel, compared with the scalar decode of the same values.
    private static void Decode(List<string> failures, KernelWidth width, Q40Panels panels, float[] rowMajor)
    {
        var block = new float[32 * 16];
        for (int panel = 0; panel < panels.Panels; panel++)
        {
            for (int b = 0; b < panels.BlocksPerRow; b++)
            {
                switch (width)
                {
                    case KernelWidth.Vector512: GemmVector512Kernel.DecodeQ40(panels, panel, b, ref block[0], 16); break;
                    case KernelWidth.Vector256: GemmVector256Kernel.DecodeQ40(panels, panel, b, ref block[0], 16); break;
                    case KernelWidth.Vector128: GemmVector128Kernel.DecodeQ40(panels, panel, b, ref block[0], 16); break;
                    default: GemmKernelScalar.DecodeQ40(panels, panel, b, ref block[0], 16); break;
                }

                var expected = new float[32 * 16];
                var actual = new float[32 * 16];
                for (int l = 0; l < 16; l++)
                {
                    int row = (panel * 16) + l;
                    for (int p = 0; p < 32; p++)
                    {
                        expected[(p * 16) + l] = row < panels.Rows ? rowMajor[(row * panels.Columns) + (b * 32) + p] : 0f;
                        actual[(p * 16) + l] = block[(p * 16) + l];
                    }
                }

                GemmChecks.Compare(failures, $"{width} panel decode [{panels.Rows}, {panels.Columns}] panel {panel} block {b}", expected, actual);
            }
        }
    }

    private static void HalfWidening(List<string> failures)
    {
        var expected = new float[65536];
        var actual = new float[65536];
        for (int h = 0; h < 65536; h++)
        {
            expected[h] = (float)BitConverter.UInt16BitsToHalf((ushort)h);
        }

        foreach (KernelWidth width in KernelWidths.Supported)
        {
            for (int h = 0; h < 65536; h += 16)
            {
                var bits = new uint[16];
                for (int i = 0; i < 16; i++)
                {
                    bits[i] = (uint)(h + i);
                }

                switch (width)
                {
                    case KernelWidth.Vector512:
                        HalfVectors.ToSingle(System.Runtime.Intrinsics.Vector512.Create(bits)).CopyTo(actual.AsSpan(h));
                        break;
                    case KernelWidth.Vector256:
                        HalfVectors.ToSingle(System.Runtime.Intrinsics.Vector256.Create(bits.AsSpan(0, 8))).CopyTo(actual.AsSpan(h));
                        HalfVectors.ToSingle(System.Runtime.Intrinsics.Vector256.Create(bits.AsSpan(8, 8))).CopyTo(actual.AsSpan(h + 8));
                        break;
                    case KernelWidth.Vector128:
                        for (int q = 0; q < 16; q += 4)
                        {
                            HalfVectors.ToSingle(System.Runtime.Intrinsics.Vector128.Create(bits.AsSpan(q, 4))).CopyTo(actual.AsSpan(h + q));
                        }

                        break;
                    default:
                        for (int i = 0; i < 16; i++)
                        {
                            actual[h + i] = HalfVectors.ToSingle((ushort)(h + i));
                        }

                        break;
                }
            }

            for (int h = 0; h < 65536; h++)
            {
                if (BitConverter.SingleToUInt32Bits(expected[h]) != BitConverter.SingleToUInt32Bits(actual[h]))
                {
                    failures.Add($"{width} f16 widening of 0x{h:X4}: {BitConverter.SingleToUInt32Bits(expected[h]):X8} vs {BitConverter.SingleToUInt32Bits(actual[h]):X8}");
                    break;
                }
            }
        }
    }
}
