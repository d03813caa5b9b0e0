using TorchToNnef.Errors;
using TorchToNnef.Ir;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Tests;

/// <summary>Tensor-level quantization: threads, streaming, options and validation.</summary>
public class QuantizerTests
{
    internal static Tensor RandomTensor(DType dtype, Shape shape, int seed, double scale = 1.0)
    {
        var rng = new Random(seed);
        float[] values = new float[shape.ElementCount];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(scale * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        }

        var t = Tensor.Allocate(dtype, shape);
        FloatConversions.FromSingle(dtype, values, ((OwnedTensorData)t.Data).Span);
        return t;
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void ThreadCountDoesNotChangeTheBytes(DType dtype)
    {
        // 3 chunks and a partial one: 4096*3 + 77 groups.
        using Tensor t = RandomTensor(dtype, new Shape(((4096 * 3) + 77) * 2, 16 * 2), seed: 7);
        using Tensor one = Q40Quantizer.Quantize(t, "w", null, new Q40QuantizeOptions { MaxDegreeOfParallelism = 1 });
        using Tensor many = Q40Quantizer.Quantize(t, "w", null, new Q40QuantizeOptions { MaxDegreeOfParallelism = 4 });
        Assert.True(one.Bytes.SequenceEqual(many.Bytes));
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    public void MappedSourcesStreamedInWindowsGiveTheSameBytes(DType dtype)
    {
        // More than one window of chunks plus a partial chunk, read from a memory-mapped file.
        using Tensor t = RandomTensor(dtype, new Shape((Q40Pipeline.ChunkGroups * (Q40Pipeline.WindowChunks + 1)) + 5, 32), seed: 8);
        using var dir = new TestSupport.TempDir();
        string path = dir.File("w.safetensors");
        Formats.Safetensors.SafetensorsWriter.Write(path, [("w", t)]);
        using var file = Formats.Safetensors.SafetensorsFile.Open(path);
        using Tensor mapped = file.GetTensor("w");
        Assert.IsNotType<OwnedTensorData>(mapped.Data);
        using Tensor fromMemory = Q40Quantizer.Quantize(t, "w");
        using Tensor fromMap = Q40Quantizer.Quantize(mapped, "w");
        using var streamed = new MemoryStream();
        var stats = new Q40ErrorStats();
        Q40Quantizer.WriteBlocks(mapped, streamed, "w", null, new Q40QuantizeOptions { Errors = stats });
        Assert.True(fromMemory.Bytes.SequenceEqual(fromMap.Bytes));
        Assert.True(fromMemory.Bytes.SequenceEqual(streamed.ToArray()));
        Assert.Equal(t.ElementCount, stats.Count);
    }

    [Theory]
    [InlineData(0x7E00, 5000, "holds NaN", 1)]
    [InlineData(0xFC00, 12364, "has values too large for an f16 scale", 2)] // -inf in the last group of the partial chunk (4096 * 3 + 76)
    [InlineData(0x7C01, 8191, "holds NaN", 2)] // a signalling NaN pattern, last group of a chunk
    public void NonFiniteHalfGroupsAreReportedFromTheScalePass(int bad, int badGroup, string what, int threads)
    {
        // f16 min-max knows from its maxima whether a chunk holds a non-finite scale (the pipeline then skips reading
        // the scales again): the first bad group must still be found, in any chunk, with the same message. Zero and
        // tiny groups (the kernels' exact path, with zero, subnormal scales and infinite reciprocals) are no error.
        int groups = (4096 * 3) + 77;
        using Tensor t = RandomTensor(DType.F16, new Shape(groups, 32), seed: 12);
        Span<ushort> h = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(((OwnedTensorData)t.Data).Span);
        h.Slice(100 * 32, 32).Clear();
        h.Slice(9000 * 32, 32).Fill(0x0001); // smallest subnormal: scale -0, reciprocal -0
        h.Slice(9001 * 32, 32).Fill(0x8400); // -2^-14: scale subnormal, reciprocal infinite
        h.Slice(9002 * 32, 32).Fill(0x0FFF); // just below the fast path's range
        using (Tensor fine = Q40Quantizer.Quantize(t, "w", null, new Q40QuantizeOptions { MaxDegreeOfParallelism = threads }))
        {
            AssertReferenceF16(h, fine.Bytes);
        }

        h[(badGroup * 32) + 17] = (ushort)bad;
        if (badGroup + 1 < groups)
        {
            h[((badGroup + 1) * 32) + 3] = 0x7E00; // a later one must not be the one reported
        }

        var e = Assert.Throws<ImpossibleQuantizationException>(() => Q40Quantizer.Quantize(t, "w", null, new Q40QuantizeOptions { MaxDegreeOfParallelism = threads }));
        Assert.True(e.Message.Contains($"group {badGroup} (elements {badGroup * 32} to {(badGroup * 32) + 31}) {what}", StringComparison.Ordinal), e.Message);
        Assert.Throws<ImpossibleQuantizationException>(() => Q40Quantizer.WriteBlocks(t, Stream.Null, "w", null, new Q40QuantizeOptions { MaxDegreeOfParallelism = threads }));
        using Tensor allowed = Q40Quantizer.Quantize(t, "w", null, new Q40QuantizeOptions { MaxDegreeOfParallelism = threads, AllowNonFinite = true });
        AssertReferenceF16(h, allowed.Bytes);
    }

    private static void AssertReferenceF16(ReadOnlySpan<ushort> h, ReadOnlySpan<byte> blocks)
    {
        byte[] expected = new byte[blocks.Length];
        for (int g = 0; g < h.Length / 32; g++)
        {
            Q40Reference.QuantizeF16(h.Slice(g * 32, 32), expected.AsSpan(g * 18, 18));
        }

        Assert.True(blocks.SequenceEqual(expected), $"first difference at byte {blocks.CommonPrefixLength(expected)}");
    }

    [Fact]
    public void TensorQuantizationEqualsTheReferenceGroupByGroup()
    {
        using Tensor t = RandomTensor(DType.F32, new Shape(33, 64), seed: 3);
        using Tensor q = Q40Quantizer.Quantize(t, "w");
        byte[] expected = new byte[q.ByteLength];
        ReadOnlySpan<float> x = t.AsSpan<float>();
        for (int g = 0; g < x.Length / 32; g++)
        {
            Q40Reference.QuantizeF32(x.Slice(g * 32, 32), expected.AsSpan(g * 18, 18));
        }

        Assert.Equal(expected, q.Bytes.ToArray());
    }

    [Fact]
    public void StreamingWritesTheSameBlocksAndReportsProgress()
    {
        using Tensor t = RandomTensor(DType.F16, new Shape(4096 * 9, 32), seed: 11);
        using Tensor q = Q40Quantizer.Quantize(t, "w");
        var progress = new List<long>();
        using var ms = new MemoryStream();
        Q40Quantizer.WriteBlocks(t, ms, "w", null, new Q40QuantizeOptions { Progress = new SyncProgress(progress) });
        Assert.Equal(q.Bytes.ToArray(), ms.ToArray());
        Assert.Equal(t.ElementCount, progress[^1]);
        Assert.Equal(progress.Order().ToList(), progress);
    }

    [Fact]
    public void ErrorStatsMatchADirectComputation()
    {
        using Tensor t = RandomTensor(DType.F32, new Shape(100, 96), seed: 5, scale: 0.02);
        var stats = new Q40ErrorStats();
        using Tensor q = Q40Quantizer.Quantize(t, "w", null, new Q40QuantizeOptions { Errors = stats });
        using Tensor d = Q40Dequantizer.Dequantize(q);
        double sse = 0, sig = 0, max = 0;
        ReadOnlySpan<float> x = t.AsSpan<float>();
        ReadOnlySpan<float> w = d.AsSpan<float>();
        for (int i = 0; i < x.Length; i++)
        {
            double e = (double)x[i] - w[i];
            sse += e * e;
            sig += (double)x[i] * x[i];
            max = Math.Max(max, Math.Abs(e));
        }

        Assert.Equal(x.Length, stats.Count);
        Assert.Equal(Math.Sqrt(sse / x.Length), stats.Rmse, 12);
        Assert.Equal(max, stats.MaxAbsError);
        Assert.Equal(10 * Math.Log10(sig / sse), stats.SqnrDb, 9);
    }

    [Fact]
    public void IneligibleTensorsNameTheTensorAndTheRule()
    {
        using Tensor ints = Tensor.Allocate(DType.I64, new Shape(2, 32));
        var e1 = Assert.Throws<ImpossibleQuantizationException>(() => Q40Quantizer.Quantize(ints, "pos_ids"));
        Assert.Contains("'pos_ids'", e1.Message, StringComparison.Ordinal);
        Assert.Contains("i64", e1.Message, StringComparison.Ordinal);

        using Tensor rows48 = Tensor.Allocate(DType.F32, new Shape(2, 48));
        var e2 = Assert.Throws<ImpossibleQuantizationException>(() => Q40Quantizer.Lazy(TensorSource.FromTensor(rows48), "fc.weight"));
        Assert.Contains("48", e2.Message, StringComparison.Ordinal);

        // Groups never straddle dim 0, but they may span inner dims: [16, 8, 2, 2] has rows of 32.
        Assert.True(Q40Format.IsEligible(DType.F32, new Shape(16, 8, 2, 2), out _));
        Assert.False(Q40Format.IsEligible(DType.F32, new Shape(2, 2, 2, 2, 32), out string? why));
        Assert.Contains("rank", why, StringComparison.Ordinal);
    }

    [Fact]
    public void LazySourceStreamsTheSameBytesAsOpen()
    {
        using Tensor t = RandomTensor(DType.BF16, new Shape(64, 96), seed: 9);
        Q40TensorSource lazy = Q40Quantizer.Lazy(TensorSource.FromTensor(t), "w", new MinMaxCalibration(0.99));
        Assert.Equal(DType.Q40, lazy.DType);
        using Tensor opened = lazy.Open();
        using var ms = new MemoryStream();
        lazy.WriteTo(ms);
        Assert.Equal(opened.Bytes.ToArray(), ms.ToArray());
    }

    [Fact]
    public void CalibrationRejectsPartialGroupsAndMismatchedLengths()
    {
        Assert.Throws<ArgumentException>(() => Q40Calibration.MinMax.QuantizeGroups(new float[33], new byte[18]));
        Assert.Throws<ArgumentException>(() => Q40Calibration.MinMax.QuantizeGroups(new float[32], new byte[17]));
        Assert.Throws<ArgumentException>(() => Q40Calibration.MinMax.QuantizeGroups(DType.I32, new byte[128], new byte[18]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MinMaxCalibration(1.5));
    }

    private sealed class SyncProgress(List<long> sink) : IProgress<long>
    {
        public void Report(long value) => sink.Add(value);
    }
}
