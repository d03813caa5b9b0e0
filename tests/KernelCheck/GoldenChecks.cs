using System.Runtime.InteropServices;
using System.Text.Json;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// Every case of <c>shared/golden/q40</c> through one kernel: min-max quantization (with the case's percentile) must
/// give the golden <c>.dat</c> blocks of both tract versions byte for byte, and the kernel's dequantization of those
/// blocks the golden <c>(code - 8) * scale</c> in f32 (and, for f16 inputs, in f16). The goldens hold what random data
/// rarely reaches: halfway ties, zero groups, tiny values, f16 overflow, percentile ranges.
/// </summary>
public static class GoldenChecks
{
    /// <summary>Number of golden cases the manifest lists (each checked for both tract versions).</summary>
    public static int CaseCount => Manifest().Count;

    /// <summary>Returns one message per mismatch (empty = every case matches).</summary>
    public static List<string> Run(Q40KernelKind kind)
    {
        var failures = new List<string>();
        foreach (JsonElement c in Manifest())
        {
            string id = c.GetProperty("id").GetString()!;
            using SafetensorsFile input = SafetensorsFile.Open(Golden.File("q40", c.GetProperty("input_file").GetString()!));
            using Tensor x = input.GetTensor(c.GetProperty("tensor_name").GetString()!);
            using SafetensorsFile dequant = SafetensorsFile.Open(Golden.File("q40", c.GetProperty("dequant_file").GetString()!));
            float percentile = (float)c.GetProperty("percentile").GetDouble();
            int groups = checked((int)(x.ElementCount / 32));
            foreach (JsonElement dat in c.GetProperty("dat_files").EnumerateArray())
            {
                string version = dat.GetProperty("target_version").GetString()!;
                // Read as Q4_0 in the GGML order whichever encoding the file has (legacy files are converted).
                using Tensor golden = DatFile.Read(Golden.File("q40", dat.GetProperty("file").GetString()!));
                byte[] blocks = golden.Bytes.ToArray();

                var quantized = new byte[groups * 18];
                Q40Kernels.QuantizeMinMax(kind, x.DType, x.Bytes, quantized, percentile);
                Compare(failures, $"{kind} {id} tract {version} quantize", blocks, quantized);

                var f32 = new float[groups * 32];
                Q40Kernels.DequantizeF32(kind, blocks, f32);
                using Tensor expectedF32 = dequant.GetTensor(dequant.TryGetEntry("dequant_f32", out _) ? "dequant_f32" : "dequant");
                Compare(failures, $"{kind} {id} tract {version} dequantize f32", expectedF32.Bytes.ToArray(), MemoryMarshal.AsBytes(f32.AsSpan()).ToArray());
                if (x.DType == DType.F16)
                {
                    var f16 = new ushort[groups * 32];
                    Q40Kernels.DequantizeF16(kind, blocks, f16);
                    using Tensor expectedF16 = dequant.GetTensor("dequant_native");
                    Compare(failures, $"{kind} {id} tract {version} dequantize f16", expectedF16.Bytes.ToArray(), MemoryMarshal.AsBytes(f16.AsSpan()).ToArray());
                }
            }
        }

        return failures;
    }

    private static List<JsonElement> Manifest()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Golden.File("q40", "manifest.json")));
        List<JsonElement> cases = [.. doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone())];
        return cases.Count > 0 ? cases : throw new InvalidDataException("the golden q40 manifest lists no cases");
    }

    private static void Compare(List<string> failures, string what, byte[] expected, byte[] actual)
    {
        if (!expected.AsSpan().SequenceEqual(actual))
        {
            int i = expected.AsSpan().CommonPrefixLength(actual);
            failures.Add($"{what}: {actual.Length} bytes, expected {expected.Length}; first difference at byte {i}");
        }
    }
}
