using System.Diagnostics.CodeAnalysis;
using TorchToNnef.Errors;
using TorchToNnef.Quant.Calibration;

namespace TorchToNnef.Quant.Registry;

/// <summary>
/// Named compression methods (key -&gt; <see cref="CompressionMethod"/>). <see cref="Default"/> holds the built-ins,
/// with torch_to_nnef's keys (<c>min_max_q4_0</c>, <c>min_max_q4_0_with_embeddings</c>,
/// <c>min_max_q4_0_with_embeddings_99</c>, <c>min_max_q4_0_all</c>) and ours (<c>grid_mse_q4_0_all</c>,
/// <c>ggml_q4_0</c>, <c>ggml_q4_0_all</c>, <c>mse_opt_q4_0</c>, <c>mse_opt_q4_0_with_embeddings</c>,
/// <c>mse_opt_q4_0_all</c>); library users add their own with
/// <see cref="Register"/>. Thread-safe.
/// </summary>
public sealed class CompressionRegistry
{
    private static readonly WeightKind[] LinearOnly = [WeightKind.Linear];
    private static readonly WeightKind[] LinearAndEmbedding = [WeightKind.Linear, WeightKind.Embedding];
    private static readonly WeightKind[] All = [WeightKind.Linear, WeightKind.Embedding, WeightKind.Conv1d, WeightKind.Conv2d];

    private readonly Dictionary<string, CompressionMethod> _methods = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>The process-wide registry, pre-filled with the built-in methods.</summary>
    public static CompressionRegistry Default { get; } = CreateBuiltIn();

    /// <summary>Keys in ordinal order.</summary>
    public IReadOnlyList<string> Keys
    {
        get
        {
            lock (_lock)
            {
                return [.. _methods.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>A new registry holding only the built-in methods.</summary>
    public static CompressionRegistry CreateBuiltIn()
    {
        var r = new CompressionRegistry();
        var minMax = Q40Calibration.MinMax;
        r.Register(new CompressionMethod("min_max_q4_0", minMax, LinearOnly, "torch_to_nnef min-max Q4_0 for linear weights"));
        r.Register(new CompressionMethod("min_max_q4_0_with_embeddings", minMax, LinearAndEmbedding, "torch_to_nnef min-max Q4_0 for linear and embedding weights"));
        r.Register(new CompressionMethod("min_max_q4_0_with_embeddings_99", new MinMaxCalibration(0.99), LinearAndEmbedding, "torch_to_nnef min-max Q4_0 at the 99th percentile of |x|, linear and embedding weights"));
        r.Register(new CompressionMethod("min_max_q4_0_all", minMax, All, "torch_to_nnef min-max Q4_0 for linear, embedding and conv1d/conv2d weights"));
        var grid = new GridMseCalibration();
        r.Register(new CompressionMethod("grid_mse_q4_0_all", grid, All, "the quantization tutorial's scale grid search (100 steps to 0.8x), all weight kinds"));
        var ggml = new GgmlCalibration();
        r.Register(new CompressionMethod("ggml_q4_0", ggml, LinearOnly, "ggml/llama.cpp Q4_0 rule (signed max, d = max / -8) for linear weights"));
        r.Register(new CompressionMethod("ggml_q4_0_all", ggml, All, "ggml/llama.cpp Q4_0 rule, all weight kinds"));
        var mseOpt = new MseOptCalibration();
        r.Register(new CompressionMethod("mse_opt_q4_0", mseOpt, LinearOnly, "per-group squared-error scale search (never worse than min-max or the grid), linear weights"));
        r.Register(new CompressionMethod("mse_opt_q4_0_with_embeddings", mseOpt, LinearAndEmbedding, "per-group squared-error scale search, linear and embedding weights"));
        r.Register(new CompressionMethod("mse_opt_q4_0_all", mseOpt, All, "per-group squared-error scale search, all weight kinds"));
        return r;
    }

    /// <summary>Adds a method under its <see cref="CompressionMethod.Key"/>.</summary>
    /// <exception cref="ArgumentException">The key exists and <paramref name="replace"/> is false.</exception>
    public void Register(CompressionMethod method, bool replace = false)
    {
        ArgumentNullException.ThrowIfNull(method);
        lock (_lock)
        {
            if (!replace && _methods.ContainsKey(method.Key))
            {
                throw new ArgumentException($"A compression method named '{method.Key}' is already registered.", nameof(method));
            }

            _methods[method.Key] = method;
        }
    }

    /// <summary>Looks a method up.</summary>
    public bool TryGet(string key, [NotNullWhen(true)] out CompressionMethod? method)
    {
        lock (_lock)
        {
            return _methods.TryGetValue(key, out method);
        }
    }

    /// <summary>Looks a method up or fails with the list of known keys.</summary>
    /// <exception cref="UnsupportedFeatureException">No method has that key.</exception>
    public CompressionMethod Get(string key) =>
        TryGet(key, out CompressionMethod? m)
            ? m
            : throw new UnsupportedFeatureException(null, null, $"unknown compression method '{key}'; known: {string.Join(", ", Keys)}");
}
