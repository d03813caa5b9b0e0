using TorchToNnef.Errors;
using TorchToNnef.Ir;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Tests;

/// <summary>The compression-method registry: torch_to_nnef's keys and selections, extension by users.</summary>
public class RegistryTests
{
    [Theory]
    [InlineData("min_max_q4_0", new[] { WeightKind.Linear })]
    [InlineData("min_max_q4_0_with_embeddings", new[] { WeightKind.Linear, WeightKind.Embedding })]
    [InlineData("min_max_q4_0_with_embeddings_99", new[] { WeightKind.Linear, WeightKind.Embedding })]
    [InlineData("min_max_q4_0_all", new[] { WeightKind.Linear, WeightKind.Embedding, WeightKind.Conv1d, WeightKind.Conv2d })]
    public void BuiltInKeysSelectTheReferenceToolsModuleClasses(string key, WeightKind[] selected)
    {
        CompressionMethod m = CompressionRegistry.Default.Get(key);
        foreach (WeightKind k in Enum.GetValues<WeightKind>())
        {
            Assert.Equal(selected.Contains(k), m.Selects(k));
        }
    }

    [Fact]
    public void The99EntryUsesThePercentile()
    {
        var cal = Assert.IsType<MinMaxCalibration>(CompressionRegistry.Default.Get("min_max_q4_0_with_embeddings_99").Calibration);
        Assert.Equal(0.99, cal.Percentile);
    }

    [Fact]
    public void UnknownKeyListsTheKnownOnes()
    {
        var e = Assert.Throws<UnsupportedFeatureException>(() => CompressionRegistry.Default.Get("nope"));
        Assert.Contains("min_max_q4_0_all", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UsersCanRegisterMethodsWithoutTouchingTheDefault()
    {
        var r = CompressionRegistry.CreateBuiltIn();
        var mine = new CompressionMethod("my_q4_0_embeddings_only", new MinMaxCalibration(0.9), [WeightKind.Embedding]);
        r.Register(mine);
        Assert.Same(mine, r.Get("my_q4_0_embeddings_only"));
        Assert.False(CompressionRegistry.Default.TryGet("my_q4_0_embeddings_only", out _));
        Assert.Throws<ArgumentException>(() => r.Register(mine));
        r.Register(mine, replace: true);
    }

    [Fact]
    public void MethodQuantizesWithItsCalibrationAndRefusesIneligibleWeights()
    {
        CompressionMethod m = CompressionRegistry.Default.Get("min_max_q4_0");
        using Tensor w = QuantizerTests.RandomTensor(DType.F32, new Shape(4, 64), seed: 1);
        using Tensor q = m.Quantize(w, "fc.weight");
        Assert.Equal(DType.Q40, q.DType);
        TensorSource lazy = m.QuantizeLazily(TensorSource.FromTensor(w), "fc.weight");
        Assert.Equal(DType.Q40, lazy.DType);
        using Tensor opened = lazy.Open();
        Assert.Equal(q.Bytes.ToArray(), opened.Bytes.ToArray());

        using Tensor conv1 = Tensor.Allocate(DType.F32, new Shape(8, 3, 3, 3));
        Assert.False(m.IsEligible(TensorSource.FromTensor(conv1), out string? why));
        Assert.NotNull(why);
        Assert.Throws<ImpossibleQuantizationException>(() => m.Quantize(conv1, "conv1.weight"));
        Assert.Throws<ImpossibleQuantizationException>(() => m.QuantizeLazily(TensorSource.FromTensor(conv1), "conv1.weight"));
    }
}
