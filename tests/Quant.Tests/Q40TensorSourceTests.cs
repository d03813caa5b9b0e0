using TorchToNnef.Errors;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Ir;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Quant.Tests;

/// <summary>Q4_0 compression as a tensor source: same blocks as the quantizer whichever path runs, quantized once.</summary>
public class Q40TensorSourceTests
{
    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void StreamingFromAMappedCheckpointGivesTheQuantizersBlocks(DType dtype)
    {
        // Several pipeline windows and a partial chunk, so the streamed path crosses window boundaries.
        using Tensor t = QuantizerTests.RandomTensor(dtype, new Shape((Q40Pipeline.ChunkGroups * (Q40Pipeline.WindowChunks + 1)) + 3, 32), seed: 21);
        using var dir = new TempDir();
        string path = dir.File("w.safetensors");
        SafetensorsWriter.Write(path, [("w", t)]);
        using SafetensorsFile file = SafetensorsFile.Open(path);
        var source = new Q40TensorSource(file.GetSource("w"), "w", new MinMaxCalibration(0.999));

        using Tensor expected = Q40Quantizer.Quantize(t, "w", new MinMaxCalibration(0.999));
        using var streamed = new MemoryStream();
        source.WriteTo(streamed);
        Assert.Equal(DType.Q40, source.DType);
        Assert.Equal(t.Shape, source.Shape);
        Assert.Equal(expected.ByteLength, source.ByteLength);
        Assert.True(expected.Bytes.SequenceEqual(streamed.ToArray()));
    }

    [Fact]
    public void OpenQuantizesOnceWhileItsResultIsHeldAndWritesReuseIt()
    {
        using Tensor t = QuantizerTests.RandomTensor(DType.F16, new Shape(64, 96), seed: 22);
        var floats = new CountingSource(TensorSource.FromTensor(t));
        var source = new Q40TensorSource(floats, "w");

        using Tensor first = source.Open();
        using Tensor second = source.Open();
        using var written = new MemoryStream();
        source.WriteTo(written);
        Assert.Equal(1, floats.Opens);
        Assert.True(first.Bytes.SequenceEqual(second.Bytes));
        Assert.True(first.Bytes.SequenceEqual(written.ToArray()));
        using Tensor expected = Q40Quantizer.Quantize(t, "w");
        Assert.True(expected.Bytes.SequenceEqual(first.Bytes));
    }

    [Fact]
    public void EachWriteWithoutAnOpenResultQuantizesOnce()
    {
        using Tensor t = QuantizerTests.RandomTensor(DType.F32, new Shape(32, 64), seed: 23);
        var floats = new CountingSource(TensorSource.FromTensor(t));
        var source = new Q40TensorSource(floats, "w");
        using var a = new MemoryStream();
        using var b = new MemoryStream();
        source.WriteTo(a);
        source.WriteTo(b);
        Assert.Equal(2, floats.Opens);
        Assert.Equal(a.ToArray(), b.ToArray());
    }

    [Fact]
    public void IneligibleSourcesAreRefusedWhenTheSourceIsMade()
    {
        using Tensor rows48 = Tensor.Allocate(DType.F32, new Shape(4, 48));
        var e = Assert.Throws<ImpossibleQuantizationException>(() => new Q40TensorSource(TensorSource.FromTensor(rows48), "fc.weight"));
        Assert.Equal("fc.weight", e.TensorName);
        Assert.Contains("48", e.Message, StringComparison.Ordinal);
        using Tensor ints = Tensor.Allocate(DType.I32, new Shape(4, 32));
        Assert.Throws<ImpossibleQuantizationException>(() => new Q40TensorSource(TensorSource.FromTensor(ints), "ids"));
    }

    /// <summary>Counts how often the float data is opened (each quantization opens it once).</summary>
    private sealed class CountingSource(TensorSource inner) : TensorSource
    {
        public int Opens { get; private set; }

        public override DType DType => inner.DType;

        public override Shape Shape => inner.Shape;

        public override Tensor Open()
        {
            Opens++;
            return inner.Open();
        }
    }
}
