using System.Runtime.InteropServices;
using System.Text.Json;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Quant.Model;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Quant.Tests;

/// <summary>
/// Byte-for-byte parity with torch_to_nnef 0.20.1 on every case of <c>shared/golden/q40</c>: the whole <c>.dat</c>
/// file for both target versions, the scales and codes, and every dequantized tensor.
/// </summary>
public class GoldenQ40Tests
{
    public static TheoryData<string> Cases => Q40Manifest.CaseIds();

    public static TheoryData<string> ErrorCases => Q40Manifest.ErrorCaseIds();

    [Fact]
    public void ManifestListsAllCases()
    {
        Assert.Equal(22, Q40Manifest.Cases.Count());
        Assert.Equal(4, Q40Manifest.ErrorCases.Count());
    }

    private static readonly Q40QuantizeOptions AllowNonFinite = new() { AllowNonFinite = true };

    [Fact]
    public void NonFiniteScalesAreAnErrorByDefault()
    {
        JsonElement c = Q40Manifest.Case("s7x64_f32_f16_overflow");
        using Tensor input = LoadInput(c);
        var e = Assert.Throws<ImpossibleQuantizationException>(() => Q40Quantizer.Quantize(input, "weight"));
        Assert.Contains("tensor 'weight'", e.Message, StringComparison.Ordinal);
        Assert.Contains("too large for an f16 scale", e.Message, StringComparison.Ordinal);
        Assert.Throws<ImpossibleQuantizationException>(() => Q40Quantizer.WriteBlocks(input, Stream.Null, "weight"));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DatFilesAreReproducedByteForByte(string id)
    {
        JsonElement c = Q40Manifest.Case(id);
        using Tensor input = LoadInput(c);
        var calibration = new MinMaxCalibration(c.GetProperty("percentile").GetDouble());
        foreach (JsonElement dat in c.GetProperty("dat_files").EnumerateArray())
        {
            TractVersion target = TractVersion.Parse(dat.GetProperty("target_version").GetString()!);
            byte[] expected = File.ReadAllBytes(Golden.File("q40", dat.GetProperty("file").GetString()!));
            // The reference tool writes an infinite scale where |x| / 8 overflows f16 (the overflow case): reproduced
            // when asked; by default such a block is an error (NonFiniteScalesAreAnErrorByDefault).
            using Tensor q = Q40Quantizer.Quantize(input, "weight", calibration, AllowNonFinite);
            Assert.Equal(DType.Q40, q.DType);
            Assert.Equal(input.Shape, q.Shape);

            // One form in memory; the .dat writer encodes it for the target (legacy nibble order before 0.21.11).
            AssertBytes(expected, DatBytes(q, target), $"{id} for tract {target}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ScalesAndCodesMatch(string id)
    {
        JsonElement c = Q40Manifest.Case(id);
        using Tensor input = LoadInput(c);
        Dictionary<string, Tensor> golden = GoldenTensors.Read(Golden.File("q40", c.GetProperty("dequant_file").GetString()!));
        using Tensor blocks = Q40Quantizer.Quantize(input, "weight", new MinMaxCalibration(c.GetProperty("percentile").GetDouble()), AllowNonFinite);
        QTensor qt = QTensor.FromBlocks(blocks, input.DType);
        Assert.Equal(golden["scale"].AsSpan<ushort>().ToArray(), qt.Scheme.ScaleBits.ToArray());
        Assert.Equal(golden["codes"].Bytes.ToArray(), qt.DecompressToU8());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DequantizedTensorsMatch(string id)
    {
        JsonElement c = Q40Manifest.Case(id);
        Dictionary<string, Tensor> golden = GoldenTensors.Read(Golden.File("q40", c.GetProperty("dequant_file").GetString()!));
        DType inputDType = DTypeOf(c);
        foreach (JsonElement dat in c.GetProperty("dat_files").EnumerateArray())
        {
            // The golden .dat read back as tract would, then dequantized.
            using Tensor blocks = DatFile.Read(Golden.File("q40", dat.GetProperty("file").GetString()!), "weight");
            using Tensor f32 = Q40Dequantizer.Dequantize(blocks, DType.F32);
            using Tensor native = Q40Dequantizer.Dequantize(blocks, inputDType);
            string expectedExact = golden.ContainsKey("dequant_f32") ? "dequant_f32" : "dequant";
            AssertBytes(golden[expectedExact].Bytes, f32.Bytes, $"{id} f32 dequant");
            if (golden.TryGetValue("dequant_native", out Tensor? nativeGolden))
            {
                AssertBytes(nativeGolden.Bytes, native.Bytes, $"{id} native dequant");
            }

            // "dequant" is torch_to_nnef's decompress() (in the input dtype) cast to f32.
            float[] asF32 = native.ToFloatArray();
            AssertBytes(golden["dequant"].Bytes, MemoryMarshal.AsBytes(asF32.AsSpan()), $"{id} decompress as f32");

            // The model type decompresses the same way without a float copy in between.
            QTensor qt = QTensor.FromBlocks(blocks, inputDType);
            using Tensor decompressed = qt.Decompress();
            AssertBytes(native.Bytes, decompressed.Bytes, $"{id} QTensor.Decompress");
        }
    }

    [Theory]
    [MemberData(nameof(ErrorCases))]
    public void IneligibleShapesAreRefused(string id)
    {
        JsonElement c = Q40Manifest.ErrorCases.Single(e => e.GetProperty("id").GetString() == id);
        Assert.Equal("T2NErrorImpossibleQuantization", c.GetProperty("expected_error").GetString());
        using Tensor input = LoadInput(c);
        var e = Assert.Throws<ImpossibleQuantizationException>(() => Q40Quantizer.Quantize(input, "weight"));
        Assert.Equal("weight", e.TensorName);
        Assert.Contains("'weight'", e.Message, StringComparison.Ordinal);
        Assert.Contains(input.Shape.Rank is < 2 or > 4 ? "rank" : "multiple of 32", e.Message, StringComparison.Ordinal);
    }

    internal static Tensor LoadInput(JsonElement c)
    {
        Dictionary<string, Tensor> tensors = GoldenTensors.Read(Golden.File("q40", c.GetProperty("input_file").GetString()!));
        Tensor t = tensors[c.GetProperty("tensor_name").GetString()!];
        Assert.Equal(DTypeOf(c), t.DType);
        Assert.Equal(c.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray(), t.Shape.ToArray());
        return t;
    }

    internal static DType DTypeOf(JsonElement c) => c.GetProperty("dtype").GetString() switch
    {
        "F32" => DType.F32,
        "F16" => DType.F16,
        "BF16" => DType.BF16,
        var s => throw new InvalidDataException(s),
    };

    internal static byte[] DatBytes(Tensor q, TractVersion target)
    {
        using var ms = new MemoryStream();
        DatFile.Write(ms, TensorSource.FromTensor(q), DatHeader.For(q.DType, q.Shape, legacyQ40Order: !target.UsesGgmlQ40Order));
        return ms.ToArray();
    }

    internal static void AssertBytes(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} bytes, expected {expected.Length}");
        int i = expected.SequenceEqual(actual) ? -1 : expected.CommonPrefixLength(actual);
        Assert.True(i < 0, $"{what}: first difference at byte {i}: {(i >= 0 ? actual[i] : 0):X2}, expected {(i >= 0 ? expected[i] : 0):X2}");
    }
}
