using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.OnnxTestSupport;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Formats.Tests.Onnx;

/// <summary>
/// The real models (cached by <c>.ci/fetch-models</c>) and the golden export load; their declared inputs and outputs
/// match what ONNX Runtime reads from the same file, and their operator histograms are printed.
/// </summary>
public class OnnxRealModelTests(ITestOutputHelper log)
{
    public static IEnumerable<object[]> Models => RealModels.IdRows;

    [Theory]
    [MemberData(nameof(Models))]
    public void RealModelLoadsAndAgreesWithOnnxRuntime(string id)
    {
        string path = RealModels.Get(id);
        var watch = Stopwatch.StartNew();
        using OnnxModel model = OnnxModel.Load(path);
        watch.Stop();
        Describe(model, watch.Elapsed);
        CheckAgainstOnnxRuntime(model);
        CheckInitializers(model);
    }

    [Fact]
    public void GoldenCnnExportLoadsAndAgreesWithOnnxRuntime()
    {
        using OnnxModel model = OnnxModel.Load(Golden.File("export_cnn_f32", "model.onnx"));
        Describe(model, TimeSpan.Zero);
        Assert.Equal(13, model.Opset);
        CheckAgainstOnnxRuntime(model);
        CheckInitializers(model);
    }

    private void Describe(OnnxModel model, TimeSpan loadTime)
    {
        log.WriteLine($"{Path.GetFileName(model.Path)}: {model.FileLength:N0} bytes, IR {model.IrVersion}, opset {model.Opset}, " +
            $"producer '{model.ProducerName} {model.ProducerVersion}', loaded in {loadTime.TotalMilliseconds:F1} ms");
        log.WriteLine("opsets: " + string.Join(", ", model.OpsetImports.Select(o => $"{(o.Domain.Length == 0 ? "ai.onnx" : o.Domain)}={o.Version}")));
        foreach (OnnxValueInfo i in model.Graph.RuntimeInputs)
        {
            log.WriteLine($"input  {i}");
        }

        foreach (OnnxValueInfo o in model.Graph.Outputs)
        {
            log.WriteLine($"output {o}");
        }

        log.WriteLine($"{model.Graph.Nodes.Count} nodes, {model.Graph.InitializerList.Count} initializers " +
            $"({model.Graph.InitializerList.Sum(t => t.ByteLength):N0} bytes), {model.Graph.ValueInfo.Count} value_info");
        foreach ((string op, int count) in model.Graph.OperatorHistogram())
        {
            log.WriteLine($"  {op,-24} {count,5}");
        }
    }

    /// <summary>ONNX Runtime parses the same file independently: names, element types and dims must agree.</summary>
    private static void CheckAgainstOnnxRuntime(OnnxModel model)
    {
        using var session = new InferenceSession(model.Path);
        Assert.Equal(session.InputMetadata.Keys.Order(), model.Graph.RuntimeInputs.Select(i => i.Name).Order());
        Assert.Equal(session.OutputMetadata.Keys.Order(), model.Graph.Outputs.Select(i => i.Name).Order());
        foreach (OnnxValueInfo info in model.Graph.RuntimeInputs.Concat(model.Graph.Outputs))
        {
            NodeMetadata meta = session.InputMetadata.TryGetValue(info.Name, out NodeMetadata? m) ? m : session.OutputMetadata[info.Name];
            Assert.Equal((int)meta.ElementDataType, (int)info.ElementType);
            Assert.NotNull(info.Shape);
            Assert.Equal(meta.Dimensions.Length, info.Shape!.Count);
            for (int d = 0; d < meta.Dimensions.Length; d++)
            {
                OnnxDim dim = info.Shape[d];
                if (dim.IsKnown)
                {
                    Assert.Equal(meta.Dimensions[d], dim.Value);
                }
                else
                {
                    Assert.Equal(-1, meta.Dimensions[d]);
                    Assert.Equal(meta.SymbolicDimensions[d], dim.Symbol ?? string.Empty);
                }
            }
        }
    }

    /// <summary>
    /// Every stored tensor (initializers and tensor attributes such as Constant values) opens with the size its dtype
    /// and dims need, and inline ones lie inside the file without overlapping one another.
    /// </summary>
    private void CheckInitializers(OnnxModel model)
    {
        var ranges = new List<(long Start, long End)>();
        List<OnnxTensor> all = [.. model.Graph.InitializerList, .. model.Graph.Nodes.SelectMany(n => n.Attributes).SelectMany(a => a.Tensor is null ? a.Tensors : [a.Tensor])];
        log.WriteLine($"{all.Count} stored tensors: {all.Count(t => t.Storage == OnnxTensorStorage.Inline)} inline (viewed in place), " +
            $"{all.Count(t => t.Storage == OnnxTensorStorage.Decoded)} decoded from typed fields, {all.Count(t => t.Storage == OnnxTensorStorage.External)} external");
        foreach (OnnxTensor t in all)
        {
            using var tensor = t.Open();
            Assert.Equal(t.DType.ByteSize(t.Shape.ElementCount), tensor.ByteLength);
            if (t.Storage == OnnxTensorStorage.Inline)
            {
                Assert.InRange(t.FileOffset, 1, model.FileLength - t.ByteLength);
                ranges.Add((t.FileOffset, t.FileOffset + t.ByteLength));
            }
        }

        ranges.Sort();
        for (int i = 1; i < ranges.Count; i++)
        {
            Assert.True(ranges[i].Start >= ranges[i - 1].End, $"inline payloads overlap at {ranges[i].Start}");
        }
    }
}
