using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;
using TorchToNnef.Quant;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Benchmarks;

/// <summary>Weight-like data: N(0, 0.02) values in each source dtype.</summary>
internal static class Q40Data
{
    public static byte[] Values(DType dtype, int elements)
    {
        var rng = new Random(20261127);
        float[] f = new float[elements];
        for (int i = 0; i < f.Length; i++)
        {
            f[i] = (float)(0.02 * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        }

        byte[] bytes = new byte[(long)elements * dtype.ElementSize()];
        FloatConversions.FromSingle(dtype, f, bytes);
        return bytes;
    }
}

/// <summary>
/// Min-max Q4_0 quantization (torch_to_nnef byte-exact) of f32, f16 and bf16 input, single thread, per kernel
/// (jobs of <see cref="Q40KernelJobsConfig"/>; scalar = baseline). 1 Mi values stay in cache, 64 Mi stream from DRAM.
/// </summary>
[Config(typeof(Q40KernelJobsConfig))]
public class Q40QuantizeBenchmarks
{
    private byte[] _source = null!;
    private byte[] _blocks = null!;

    /// <summary>Source dtype.</summary>
    [Params(DType.F32, DType.F16, DType.BF16)]
    public DType Source { get; set; }

    /// <summary>Values per operation.</summary>
    [Params(1 << 20, 1 << 26)]
    public int Elements { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _source = Q40Data.Values(Source, Elements);
        _blocks = new byte[Elements / 32 * 18];
        Console.WriteLine($"// kernel in use: {Q40Kernels.Active}");
    }

    [Benchmark]
    public void QuantizeMinMax() => Q40Kernels.QuantizeMinMax(Q40Kernels.Active, Source, _source, _blocks, percentile: 1f);
}

/// <summary>tract-style dequantization of Q4_0 blocks to f32, single thread, per kernel (scalar = baseline).</summary>
[Config(typeof(Q40KernelJobsConfig))]
public class Q40DequantizeBenchmarks
{
    private byte[] _blocks = null!;
    private float[] _values = null!;

    /// <summary>Values per operation.</summary>
    [Params(1 << 20, 1 << 26)]
    public int Elements { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        byte[] source = Q40Data.Values(DType.F32, Elements);
        _blocks = new byte[Elements / 32 * 18];
        Q40Kernels.QuantizeMinMax(Q40KernelKind.Scalar, DType.F32, source, _blocks, percentile: 1f);
        _values = new float[Elements];
    }

    [Benchmark]
    public void DequantizeF32() => Q40Kernels.DequantizeF32(Q40Kernels.Active, _blocks, _values);
}

/// <summary>
/// Whole-tensor min-max quantization through <see cref="Q40Quantizer"/> (fixed chunks spread over threads) of a
/// 64 Mi-value f32 tensor in memory, one thread (baseline) against two, on the best kernel of the machine.
/// </summary>
[Config(typeof(Q40ThreadsConfig))]
public class Q40ThreadsBenchmarks
{
    private Tensor _tensor = null!;
    private Q40QuantizeOptions _one = null!;
    private Q40QuantizeOptions _two = null!;

    /// <summary>Values per operation.</summary>
    [Params(1 << 26)]
    public int Elements { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _tensor = new Tensor(DType.F32, new Shape(Elements / 4096, 4096), OwnedTensorData.Wrap(Q40Data.Values(DType.F32, Elements)));
        _one = new Q40QuantizeOptions { MaxDegreeOfParallelism = 1 };
        _two = new Q40QuantizeOptions { MaxDegreeOfParallelism = 2 };
    }

    [GlobalCleanup]
    public void Cleanup() => _tensor.Dispose();

    [Benchmark(Baseline = true)]
    public void OneThread() => Q40Quantizer.Quantize(_tensor, "w", null, _one).Dispose();

    [Benchmark]
    public void TwoThreads() => Q40Quantizer.Quantize(_tensor, "w", null, _two).Dispose();

    /// <summary>Default job plus throughput columns.</summary>
    public sealed class Q40ThreadsConfig : BenchmarkDotNet.Configs.ManualConfig
    {
        /// <summary>Builds the config.</summary>
        public Q40ThreadsConfig()
        {
            AddJob(BenchmarkDotNet.Jobs.Job.Default.WithWarmupCount(3).WithIterationCount(15).WithId("best-kernel"));
            AddColumn(new ThroughputColumn("GB/s", Q40KernelJobsConfig.InputBytes));
            AddColumn(new ThroughputColumn("Gelem/s", Q40KernelJobsConfig.Elements));
        }
    }
}
