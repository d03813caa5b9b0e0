using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Llm.Reference;

/// <summary>
/// An independent forward pass of a decoder, written straight over the memory-mapped checkpoint weights (no graph):
/// embedding, per layer RMS norm → q/k/v projections (fused or not, with biases and per-head q/k norms as the family
/// says) → rotary embedding at positions <c>P .. P+S-1</c> → causal grouped-query attention over the past cache
/// plus this step → output projection and residual, RMS norm → SiLU-gated MLP and residual; final norm and logits of
/// the last positions. It checks exports: the archive's outputs must match it. Weights are streamed row window by
/// row window on all cores (no f32 copy of the model); only norm and bias vectors are kept.
/// </summary>
/// <remarks>One <see cref="Run"/> at a time per instance (each call is parallel inside).</remarks>
public sealed class DecoderReference
{
    private readonly Func<string, Tensor> _weights;
    private readonly bool _ownsWeights;
    private readonly DecoderArchitecture _arch;
    private readonly bool _half;
    private readonly float[] _inverseFrequencies;
    private readonly ParallelOptions _parallel;
    private readonly Dictionary<string, float[]> _vectors = new(StringComparer.Ordinal);
    private readonly ActivationBuffers _buffers = new();

    /// <summary>Prepares a pass over <paramref name="checkpoint"/> (which must stay open while it is used).</summary>
    /// <param name="checkpoint">A validated checkpoint.</param>
    /// <param name="precision">Arithmetic (f32, or what an f16 export computes).</param>
    /// <param name="maxDegreeOfParallelism">Threads for the weight-streaming products; -1 for all cores.</param>
    public DecoderReference(LlmCheckpoint checkpoint, ReferencePrecision precision = ReferencePrecision.F32, int maxDegreeOfParallelism = -1)
        : this(checkpoint, checkpoint.Architecture, precision, maxDegreeOfParallelism)
    {
    }

    /// <summary>A pass reading <paramref name="checkpoint"/>'s weights as <paramref name="architecture"/> describes them (tests).</summary>
    internal DecoderReference(LlmCheckpoint checkpoint, DecoderArchitecture architecture, ReferencePrecision precision = ReferencePrecision.F32, int maxDegreeOfParallelism = -1)
        : this(architecture, name => checkpoint.Weights.GetTensor(name), precision, maxDegreeOfParallelism)
    {
    }

    /// <summary>
    /// A pass over weights given by checkpoint name: f32, f16 or bf16 tensors, or Q4_0 ones (an export's quantized
    /// weights read back from its archive, so the pass computes with the weights the archive holds). The tensors must
    /// stay valid while the pass is used; they are read, never disposed.
    /// </summary>
    public DecoderReference(DecoderArchitecture architecture, Func<string, Tensor> weights, ReferencePrecision precision = ReferencePrecision.F32, int maxDegreeOfParallelism = -1)
        : this(architecture, weights, ownsWeights: false, precision, maxDegreeOfParallelism)
    {
    }

    /// <summary>
    /// A pass over weights given by checkpoint name; with <paramref name="ownsWeights"/>, every tensor
    /// <paramref name="weights"/> returns is opened for one use (a matrix for one product, a vector to be copied) and
    /// disposed after it, so the pass holds no weight between uses (the export's check-io opens them from its archive).
    /// </summary>
    internal DecoderReference(DecoderArchitecture architecture, Func<string, Tensor> weights, bool ownsWeights, ReferencePrecision precision = ReferencePrecision.F32, int maxDegreeOfParallelism = -1)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(weights);
        _weights = weights;
        _ownsWeights = ownsWeights;
        _arch = architecture;
        Precision = precision;
        _half = precision != ReferencePrecision.F32;
        _inverseFrequencies = RotaryFrequencies.Inverse(_arch.Config.Rope, _arch.Config.HeadDim);
        _parallel = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism };
    }

    /// <summary>The arithmetic used.</summary>
    public ReferencePrecision Precision { get; }

    /// <summary>
    /// One step: <paramref name="inputIds"/> (S tokens) after <paramref name="past"/> (P cached positions per layer,
    /// or none), returning the logits of the last <paramref name="logitsToKeep"/> positions (all with 0) and the
    /// caches extended by this step. In f16 precisions the past caches are taken as f16 (rounded) and every output is
    /// f16-valued.
    /// </summary>
    /// <exception cref="ArgumentException">A token id outside the vocabulary, or caches of the wrong count or shape.</exception>
    public ForwardResult Run(ReadOnlySpan<long> inputIds, IReadOnlyList<KvCache>? past = null, int logitsToKeep = 1)
    {
        DecoderConfig c = _arch.Config;
        int tokens = inputIds.Length;
        ArgumentOutOfRangeException.ThrowIfZero(tokens, nameof(inputIds));
        ArgumentOutOfRangeException.ThrowIfNegative(logitsToKeep);
        past ??= Enumerable.Range(0, c.NumLayers).Select(_ => KvCache.Empty(c.NumKeyValueHeads, c.HeadDim)).ToList();
        int start = CheckPast(past);
        if (start + (long)tokens > c.MaxPositionEmbeddings)
        {
            throw new ArgumentException($"{start} cached + {tokens} new positions exceed max_position_embeddings {c.MaxPositionEmbeddings}.");
        }

        float[] x = Embed(inputIds);
        var caches = new KvCache[c.NumLayers];
        foreach (DecoderLayerWeights layer in _arch.Layers)
        {
            caches[layer.Index] = Layer(layer, x, tokens, start, past[layer.Index]);
        }

        int kept = logitsToKeep == 0 ? tokens : Math.Min(logitsToKeep, tokens);
        float[] last = x.AsSpan((tokens - kept) * c.HiddenSize).ToArray();
        ReferenceOps.RmsNorm(last, c.HiddenSize, Vector(_arch.FinalNorm), _arch.RmsNormEps, _half);
        float[] logits;
        using (MatrixLease head = Matrix(_arch.LmHead))
        {
            logits = ReferenceOps.Linear(head.Rows, null, last, kept, _half, _parallel);
        }

        return new ForwardResult(logits, kept, c.VocabSize, caches);
    }

    private KvCache Layer(DecoderLayerWeights layer, float[] x, int tokens, int start, KvCache past)
    {
        DecoderConfig c = _arch.Config;
        int d = c.HeadDim;
        var taken = new List<float[]>();
        float[] Take(int length)
        {
            float[] a = _buffers.Take(length);
            taken.Add(a);
            return a;
        }

        try
        {
            float[] h = Take(x.Length);
            x.CopyTo(h, 0);
            ReferenceOps.RmsNorm(h, c.HiddenSize, Vector(layer.AttentionNorm), _arch.RmsNormEps, _half);
            var outputs = new Dictionary<LinearWeights, float[]>();
            foreach (LinearWeights linear in layer.QkvLinears)
            {
                outputs[linear] = Linear(linear, h, tokens, Take(tokens * linear.OutFeatures));
            }

            float[] q = Slice(outputs, layer.Query, tokens, Take);
            float[] k = Slice(outputs, layer.Key, tokens, Take);
            float[] v = Slice(outputs, layer.Value, tokens, Take);
            if (layer.QueryNorm is not null && layer.KeyNorm is not null)
            {
                ReferenceOps.RmsNorm(q, d, Vector(layer.QueryNorm), _arch.RmsNormEps, _half);
                ReferenceOps.RmsNorm(k, d, Vector(layer.KeyNorm), _arch.RmsNormEps, _half);
            }

            ReferenceOps.Rotate(q, tokens, c.NumAttentionHeads, d, start, _inverseFrequencies, _half);
            ReferenceOps.Rotate(k, tokens, c.NumKeyValueHeads, d, start, _inverseFrequencies, _half);
            KvCache cache = Append(past, k, v, tokens);
            float[] attention = ReferenceAttention.Run(q, cache, tokens, c.NumAttentionHeads, start, layer.AttentionWindow, Precision, _parallel, Take(q.Length));
            ReferenceOps.AddInPlace(x, Linear(layer.Output, attention, tokens, Take(x.Length)), _half);

            x.CopyTo(h, 0);
            ReferenceOps.RmsNorm(h, c.HiddenSize, Vector(layer.MlpNorm), _arch.RmsNormEps, _half);
            outputs.Clear();
            foreach (LinearWeights linear in layer.GateUpLinears)
            {
                outputs[linear] = Linear(linear, h, tokens, Take(tokens * linear.OutFeatures));
            }

            float[] gate = Slice(outputs, layer.Gate, tokens, Take);
            ReferenceOps.GatedSilu(gate, Slice(outputs, layer.Up, tokens, Take), _half);
            ReferenceOps.AddInPlace(x, Linear(layer.Down, gate, tokens, Take(x.Length)), _half);
            return cache;
        }
        finally
        {
            // A layer's activations go back for the next layer (the same sizes): without it each layer's were garbage,
            // large objects at 7B widths (a six-token MLP activation is 264 KB) that only a full collection reclaims, so
            // a deep model's pass left hundreds of MB of them behind.
            foreach (float[] a in taken)
            {
                _buffers.Give(a);
            }
        }
    }

    // Concatenates past [kv, P, d] and this step's [S, kv·d] (token-major, as projected) into [kv, P+S, d].
    private KvCache Append(KvCache past, float[] keys, float[] values, int tokens)
    {
        int kv = past.KvHeads;
        int d = past.HeadDim;
        int p = past.Length;
        int total = p + tokens;
        var k = new float[kv * total * d];
        var v = new float[kv * total * d];
        for (int g = 0; g < kv; g++)
        {
            past.Keys.AsSpan(g * p * d, p * d).CopyTo(k.AsSpan(g * total * d));
            past.Values.AsSpan(g * p * d, p * d).CopyTo(v.AsSpan(g * total * d));
            for (int t = 0; t < tokens; t++)
            {
                keys.AsSpan(((t * kv) + g) * d, d).CopyTo(k.AsSpan(((g * total) + p + t) * d));
                values.AsSpan(((t * kv) + g) * d, d).CopyTo(v.AsSpan(((g * total) + p + t) * d));
            }
        }

        if (_half)
        {
            // Past caches enter an f16 graph as f16.
            HalfRounding.Round(k);
            HalfRounding.Round(v);
        }

        return new KvCache(kv, total, d, k, v);
    }

    private float[] Embed(ReadOnlySpan<long> ids)
    {
        using MatrixLease lease = Matrix(_arch.Embedding);
        WeightRows table = lease.Rows;
        int hidden = table.Columns;
        var x = new float[ids.Length * hidden];
        var scratch = new byte[table.RowBytes];
        for (int t = 0; t < ids.Length; t++)
        {
            long id = ids[t];
            if (id < 0 || id >= table.Rows)
            {
                throw new ArgumentException($"Token id {id} at position {t} is outside the vocabulary [0, {table.Rows}).");
            }

            table.ReadRow((int)id, x.AsSpan(t * hidden, hidden), scratch);
        }

        return x;
    }

    private int CheckPast(IReadOnlyList<KvCache> past)
    {
        DecoderConfig c = _arch.Config;
        if (past.Count != c.NumLayers)
        {
            throw new ArgumentException($"Expected {c.NumLayers} layer caches, got {past.Count}.", nameof(past));
        }

        int length = past[0].Length;
        for (int i = 0; i < past.Count; i++)
        {
            KvCache p = past[i];
            if (p.KvHeads != c.NumKeyValueHeads || p.HeadDim != c.HeadDim || p.Length != length)
            {
                throw new ArgumentException(
                    $"Layer {i} cache is [{p.KvHeads}, {p.Length}, {p.HeadDim}], expected [{c.NumKeyValueHeads}, {length}, {c.HeadDim}].", nameof(past));
            }
        }

        return length;
    }

    private float[] Linear(LinearWeights linear, float[] x, int tokens, float[] y)
    {
        using MatrixLease weight = Matrix(linear.Weight);
        return ReferenceOps.Linear(weight.Rows, linear.Bias is null ? null : Vector(linear.Bias), x, tokens, _half, _parallel, y);
    }

    private static float[] Slice(Dictionary<LinearWeights, float[]> outputs, Projection p, int tokens, Func<int, float[]> take)
    {
        float[] all = outputs[p.Linear];
        if (!p.IsFused)
        {
            return all;
        }

        int width = p.Linear.OutFeatures;
        float[] part = take(tokens * p.Size);
        for (int t = 0; t < tokens; t++)
        {
            all.AsSpan((t * width) + p.Offset, p.Size).CopyTo(part.AsSpan(t * p.Size));
        }

        return part;
    }

    private MatrixLease Matrix(string name)
    {
        Tensor tensor = _weights(name);
        try
        {
            return new MatrixLease(new WeightRows(tensor, _half), _ownsWeights ? tensor : null);
        }
        catch
        {
            if (_ownsWeights)
            {
                tensor.Dispose();
            }

            throw;
        }
    }

    private float[] Vector(string name)
    {
        if (!_vectors.TryGetValue(name, out float[]? values))
        {
            using MatrixLease lease = Matrix(name);
            values = lease.Rows.ReadAll();
            _vectors[name] = values;
        }

        return values;
    }

    // A weight's rows for one use, and the tensor to dispose after it when the pass owns the tensors it is given.
    private readonly record struct MatrixLease(WeightRows Rows, Tensor? Owned) : IDisposable
    {
        public void Dispose() => Owned?.Dispose();
    }
}
