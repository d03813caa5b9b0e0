using TorchToNnef.Export.Pipeline;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Export.Tests.Pipeline;

/// <summary>The library calls behind <c>t2n quantize</c>, <c>compress</c> and <c>inspect</c>: results, progress, cancellation.</summary>
public class ModelPipelineTests
{
    [Theory]
    [InlineData("s32x32_f32_normal")]
    [InlineData("s16x8x2x2_f32_normal")]
    public void QuantizeCheckpointWritesTheGoldenDatForBothTargets(string id)
    {
        foreach (string version in new[] { "0.21.10", "0.21.13" })
        {
            using var tmp = new TempDir();
            string output = tmp.File("out");
            QuantizeCheckpointResult r = ModelPipeline.QuantizeCheckpoint(
                Golden.File("q40", id + ".input.safetensors"), output, new QuantizeCheckpointOptions { TractVersion = TractVersion.Parse(version), MeasureErrors = true });
            QuantizedTensorFile f = Assert.Single(r.Tensors);
            Assert.Equal("weight.dat", f.FileName);
            Assert.Equal(File.ReadAllBytes(Golden.File("q40", $"{id}.tract-{version}.dat")), File.ReadAllBytes(Path.Combine(output, f.FileName)));
            Assert.Equal(new FileInfo(Path.Combine(output, f.FileName)).Length, f.FileBytes);
            Assert.Equal(f.Shape.ElementCount, f.Errors!.Count);
            Assert.Null(r.IndexFile);
        }
    }

    [Fact]
    public void ThreadsDoNotChangeTheFilesAndProgressEndsAtTheTotal()
    {
        using var tmp = new TempDir();
        string input = tmp.File("m.safetensors");
        var rng = new Random(4);
        var tensors = new List<(string, Tensor)>();
        for (int i = 0; i < 7; i++)
        {
            var t = Tensor.Allocate(DType.F16, Shape.Of(64 + (32 * i), 96));
            foreach (ref Half h in t.AsWritableSpan<Half>())
            {
                h = (Half)(rng.NextDouble() - 0.5);
            }

            tensors.Add(($"layers/{i}.weight", t));
        }

        SafetensorsWriter.Write(input, tensors);
        var reports = new List<PipelineProgress>();
        QuantizeCheckpointResult one = ModelPipeline.QuantizeCheckpoint(input, tmp.File("one"), new QuantizeCheckpointOptions { MaxDegreeOfParallelism = 1 });
        QuantizeCheckpointResult many = ModelPipeline.QuantizeCheckpoint(
            input, tmp.File("many"), new QuantizeCheckpointOptions { MaxDegreeOfParallelism = 3, Progress = new Collect(reports) });
        Assert.Equal(7, many.Tensors.Count);
        Assert.Equal(TensorFileIndex.FileName, many.IndexFile); // '/' is not usable in a file name
        foreach (QuantizedTensorFile f in one.Tensors)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(tmp.File("one"), f.FileName)), File.ReadAllBytes(Path.Combine(tmp.File("many"), f.FileName)));
        }

        long total = many.Tensors.Sum(t => t.FileBytes - DatHeader.Size);
        Assert.All(reports, p => Assert.Equal(total, p.TotalBytes));
        Assert.Equal(reports.Select(p => p.BytesDone).Order(), reports.Select(p => p.BytesDone));
        Assert.Equal(total, reports[^1].BytesDone);
        Assert.Equal(7, reports[^1].TensorsDone);
        foreach ((_, Tensor t) in tensors)
        {
            t.Dispose();
        }
    }

    [Fact]
    public void CancellingAQuantizationLeavesNothingBehind()
    {
        using var tmp = new TempDir();
        string input = tmp.File("m.safetensors");
        using Tensor a = Tensor.Allocate(DType.F32, Shape.Of(256, 64));
        using Tensor b = Tensor.Allocate(DType.F32, Shape.Of(256, 64));
        SafetensorsWriter.Write(input, [("a", a), ("b", b)]);
        using var cts = new CancellationTokenSource();
        var cancelAfterFirst = new Collect([], p => { if (p.TensorsDone == 1) { cts.Cancel(); } });
        Assert.ThrowsAny<OperationCanceledException>(() => ModelPipeline.QuantizeCheckpoint(
            input, tmp.File("out"), new QuantizeCheckpointOptions { Progress = cancelAfterFirst }, cts.Token));
        Assert.False(Directory.Exists(tmp.File("out")));
        Assert.Equal(["m.safetensors"], Directory.EnumerateFileSystemEntries(tmp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void CompressArchiveGivesTheReferenceQ40FilesAndReportsProgress()
    {
        using var tmp = new TempDir();
        string output = tmp.File("q40");
        var reports = new List<PipelineProgress>();
        string input = Golden.File("export_cnn_f32", "model.nnef.tgz");
        CompressArchiveResult r = ModelPipeline.CompressArchive(
            input, output, CompressionRegistry.Default.Get("min_max_q4_0_all"),
            new CompressArchiveOptions { MaxDegreeOfParallelism = 2, Progress = new Collect(reports) });
        Assert.Equal(["conv2.weight", "fc1.weight", "fc2.weight"], r.Quantized.Select(q => q.Label).Order());
        // No version asked for: the input's tract_target_version is kept.
        Assert.Equal(TractVersion.Parse(NnefArchive.Read(input).GetProperty("tract_target_version")!), r.TractVersion);
        string golden = Golden.File("export_cnn_q40", "nnef");
        foreach (string label in r.Quantized.Select(q => q.Label))
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(golden, label + ".dat")), File.ReadAllBytes(Path.Combine(output, label + ".dat")));
        }

        Assert.Equal(reports[^1].TotalBytes, reports[^1].BytesDone);
        Assert.Equal(reports[^1].TensorCount, reports[^1].TensorsDone);
    }

    [Fact]
    public void CancellingACompressionLeavesNothingBehind()
    {
        using var tmp = new TempDir();
        using var cts = new CancellationTokenSource();
        var cancelAfterFirst = new Collect([], p => { if (p.TensorsDone == 1) { cts.Cancel(); } });
        Assert.ThrowsAny<OperationCanceledException>(() => ModelPipeline.CompressArchive(
            Golden.File("export_cnn_f32", "model.nnef.tgz"), tmp.File("o.nnef.tgz"), CompressionRegistry.Default.Get("min_max_q4_0_all"),
            new CompressArchiveOptions { Progress = cancelAfterFirst }, cts.Token));
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp.Path));
    }

    [Fact]
    public void InspectReportsTheTensorsOfACheckpointAndAnArchive()
    {
        InspectReport st = ModelPipeline.Inspect(Golden.File("q40", "s3x5x64_f16_tiny.input.safetensors"));
        Assert.Equal("safetensors", st.Kind);
        InspectTensor w = Assert.Single(st.Tensors);
        Assert.Equal(["3", "5", "64"], w.Shape.Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(3 * 5 * 64 * 2, w.Bytes);

        InspectReport nnef = ModelPipeline.Inspect(Golden.File("export_cnn_q40", "nnef"));
        Assert.Equal("nnef", nnef.Kind);
        Assert.Contains(nnef.Tensors, t => t.Dtype == "q40");
        Assert.Contains("\"kind\": \"nnef\"", nnef.ToJson(), StringComparison.Ordinal);
        Assert.Throws<Errors.InvalidInputFileException>(() => ModelPipeline.Inspect(Golden.File("q40", "manifest.json")));
    }

    private sealed class Collect(List<PipelineProgress> sink, Action<PipelineProgress>? also = null) : IProgress<PipelineProgress>
    {
        public void Report(PipelineProgress value)
        {
            sink.Add(value);
            also?.Invoke(value);
        }
    }
}
