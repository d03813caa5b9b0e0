using System.Globalization;
using System.Text;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.TestSupport;

/// <summary>
/// Writes a synthetic Hugging Face checkpoint (config, generation config, safetensors shards and their index) with
/// deterministic pseudo-random weights, one tensor at a time and in bounded chunks, so multi-GB checkpoints of real
/// shapes can be generated without holding them in memory. Which tensors to write (names and shapes) comes from the
/// caller; each tensor's values depend only on the seed and its name, not on dtype order or sharding.
/// Norm weights (rank 1, name containing <c>norm</c>) are near 1, other rank-1 tensors (biases) small, and matrices
/// uniform with standard deviation 0.02 (transformers' default initializer range).
/// </summary>
public static class SyntheticCheckpoint
{
    /// <summary>Writes the checkpoint into <paramref name="directory"/> (created if needed).</summary>
    /// <param name="directory">Target folder.</param>
    /// <param name="configJson">The <c>config.json</c> text.</param>
    /// <param name="tensors">Tensors in model order.</param>
    /// <param name="dtype">Weight dtype (f32, f16 or bf16).</param>
    /// <param name="shards">1 for <c>model.safetensors</c>; more for <c>model-0000i-of-0000n.safetensors</c> plus the index.</param>
    /// <param name="seed">Seed of the values.</param>
    /// <returns>Total payload bytes written.</returns>
    public static long Write(string directory, string configJson, IReadOnlyList<(string Name, long[] Shape)> tensors, DType dtype, int shards = 1, ulong seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        if (dtype is not (DType.F32 or DType.F16 or DType.BF16))
        {
            throw new ArgumentException($"Synthetic weights are float: {dtype.Name()}.", nameof(dtype));
        }

        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), configJson);
        File.WriteAllText(Path.Combine(directory, "generation_config.json"), """{"bos_token_id": 1, "eos_token_id": 2}""");
        long total = tensors.Sum(t => dtype.ByteSize(new Shape(t.Shape).ElementCount));
        List<List<(string Name, long[] Shape)>> groups = Split(tensors, dtype, shards, total);
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int s = 0; s < groups.Count; s++)
        {
            string file = shards == 1
                ? "model.safetensors"
                : string.Create(CultureInfo.InvariantCulture, $"model-{s + 1:D5}-of-{shards:D5}.safetensors");
            using (var stream = new FileStream(Path.Combine(directory, file), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                SafetensorsWriter.Write(stream, groups[s].Select(t => (t.Name, (TensorSource)new GeneratedSource(t.Name, t.Shape, dtype, seed))), new Dictionary<string, string> { ["format"] = "pt" });
            }

            groups[s].ForEach(t => weightMap[t.Name] = file);
        }

        if (shards > 1)
        {
            var index = new StringBuilder();
            index.Append(CultureInfo.InvariantCulture, $"{{\"metadata\": {{\"total_size\": {total}}}, \"weight_map\": {{");
            index.AppendJoin(", ", weightMap.Select(kv => $"\"{kv.Key}\": \"{kv.Value}\""));
            index.Append("}}");
            File.WriteAllText(Path.Combine(directory, SafetensorsIndex.FileName), index.ToString());
        }

        return total;
    }

    // Consecutive groups of about total/shards bytes each (every shard gets at least one tensor).
    private static List<List<(string Name, long[] Shape)>> Split(IReadOnlyList<(string Name, long[] Shape)> tensors, DType dtype, int shards, long total)
    {
        if (tensors.Count < shards)
        {
            throw new ArgumentException($"{tensors.Count} tensors cannot fill {shards} shards.", nameof(shards));
        }

        var groups = new List<List<(string, long[])>> { new() };
        long written = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            int remainingTensors = tensors.Count - i;
            int remainingShards = shards - groups.Count;
            bool full = written >= total * groups.Count / shards;
            if (groups[^1].Count > 0 && remainingShards > 0 && (full || remainingTensors == remainingShards))
            {
                groups.Add(new());
            }

            groups[^1].Add(tensors[i]);
            written += dtype.ByteSize(new Shape(tensors[i].Shape).ElementCount);
        }

        return groups;
    }

    /// <summary>Values of one tensor, produced chunk by chunk while it is written.</summary>
    private sealed class GeneratedSource(string name, long[] shape, DType dtype, ulong seed) : TensorSource
    {
        private const int ChunkElements = 1 << 16;

        public override DType DType => dtype;

        public override Shape Shape { get; } = new(shape);

        public override Tensor Open()
        {
            Tensor t = Tensor.Allocate(dtype, Shape);
            using var stream = new MemoryStream();
            WriteTo(stream);
            stream.GetBuffer().AsSpan(0, (int)stream.Length).CopyTo(((OwnedTensorData)t.Data).Span);
            return t;
        }

        public override void WriteTo(Stream destination)
        {
            var random = new SplitMix64(seed ^ Fnv1a(name));
            bool norm = shape.Length == 1 && name.Contains("norm", StringComparison.Ordinal);
            (float center, float halfWidth) = shape.Length == 1
                ? (norm ? 1f : 0f, norm ? 0.1f : 0.02f)
                : (0f, 0.02f * MathF.Sqrt(3)); // uniform(-a, a) has standard deviation a / sqrt(3)
            var values = new float[ChunkElements];
            var bytes = new byte[ChunkElements * dtype.ElementSize()];
            for (long done = 0, count = Shape.ElementCount; done < count;)
            {
                int n = (int)Math.Min(ChunkElements, count - done);
                for (int i = 0; i < n; i++)
                {
                    values[i] = center + (halfWidth * ((2 * random.NextUnit()) - 1));
                }

                FloatConversions.FromSingle(dtype, values.AsSpan(0, n), bytes);
                destination.Write(bytes, 0, n * dtype.ElementSize());
                done += n;
            }
        }

        private static ulong Fnv1a(string text)
        {
            ulong hash = 14695981039346656037UL;
            foreach (char c in text)
            {
                hash = (hash ^ c) * 1099511628211UL;
            }

            return hash;
        }
    }

    /// <summary>SplitMix64: a tiny, fast, well-mixed deterministic generator.</summary>
    private struct SplitMix64(ulong state)
    {
        private ulong _state = state;

        public float NextUnit()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (z >> 40) * (1f / (1 << 24)); // 24 random bits: [0, 1)
        }
    }
}
