using TorchToNnef.Export.Llm;
using TorchToNnef.Export.Llm.Reference;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Export.Tests.Llm;

/// <summary>
/// f16, bf16 and sharded checkpoints give the reference pass exactly the weights they hold: each is checked
/// bit for bit against the golden f32 checkpoint carrying the same values.
/// </summary>
public class ReferenceCheckpointFormatsTests
{
    private static readonly long[] Prompt = [1, 17, 42, 99, 256, 311, 7];

    [Fact]
    public void AnF16CheckpointInF16IsTheF32CheckpointRoundedToF16()
    {
        using var dir = new TempDir();
        string f16 = Convert("qwen2", dir.File("f16"), DType.F16);
        foreach (ReferencePrecision precision in new[] { ReferencePrecision.F16, ReferencePrecision.F16WithF32Attention })
        {
            ForwardResult expected = Run(GoldenCheckpoints.Dir("qwen2"), precision);
            ForwardResult got = Run(f16, precision);
            AssertIdentical(expected, got);
        }

        using LlmCheckpoint c = LlmCheckpoint.OpenDirectory(f16);
        Assert.Equal(DType.F16, c.Summary.MainWeightDType);
    }

    [Fact]
    public void ABf16CheckpointIsReadExactly()
    {
        // The same bf16 values stored as bf16 and as f32 give the same f32 pass.
        using var dir = new TempDir();
        string bf16 = Convert("phi3", dir.File("bf16"), DType.BF16);
        string widened = Convert(bf16, dir.File("f32"), DType.F32);
        AssertIdentical(Run(widened, ReferencePrecision.F32), Run(bf16, ReferencePrecision.F32));
        using LlmCheckpoint c = LlmCheckpoint.OpenDirectory(bf16);
        Assert.Equal(DType.BF16, c.Summary.MainWeightDType);
    }

    [Fact]
    public void AShardedCheckpointEqualsTheSingleFile()
    {
        using var dir = new TempDir();
        string sharded = dir.File("sharded");
        GoldenCheckpoints.CopyWithConfig("llama32", sharded, _ => { });
        File.Delete(Path.Combine(sharded, "model.safetensors"));
        using (var source = SafetensorsCheckpoint.Open(GoldenCheckpoints.Dir("llama32")))
        {
            var names = source.Entries.Select(e => e.Name).Order(StringComparer.Ordinal).ToList();
            var shards = new[] { names.Take(names.Count / 2).ToList(), names.Skip(names.Count / 2).ToList() };
            var map = new List<string>();
            for (int s = 0; s < 2; s++)
            {
                string file = $"model-0000{s + 1}-of-00002.safetensors";
                SafetensorsWriter.Write(Path.Combine(sharded, file), shards[s].Select(n => (n, source.GetTensor(n))));
                map.AddRange(shards[s].Select(n => $"\"{n}\": \"{file}\""));
            }

            File.WriteAllText(Path.Combine(sharded, SafetensorsIndex.FileName), $"{{\"metadata\": {{}}, \"weight_map\": {{{string.Join(", ", map)}}}}}");
        }

        using (LlmCheckpoint c = LlmCheckpoint.OpenDirectory(sharded))
        {
            Assert.Equal(2, c.Weights.Shards.Count);
        }

        AssertIdentical(Run(GoldenCheckpoints.Dir("llama32"), ReferencePrecision.F32), Run(sharded, ReferencePrecision.F32));
    }

    private static ForwardResult Run(string dir, ReferencePrecision precision)
    {
        using LlmCheckpoint c = LlmCheckpoint.OpenDirectory(dir);
        return new DecoderReference(c, precision).Run(Prompt, logitsToKeep: 0);
    }

    private static void AssertIdentical(ForwardResult expected, ForwardResult got)
    {
        Assert.Equal(expected.Logits, got.Logits);
        for (int i = 0; i < expected.Caches.Count; i++)
        {
            Assert.Equal(expected.Caches[i].Keys, got.Caches[i].Keys);
            Assert.Equal(expected.Caches[i].Values, got.Caches[i].Values);
        }
    }

    // A copy of a checkpoint folder (golden model name or path) with every tensor converted to dtype.
    private static string Convert(string modelOrDir, string target, DType dtype)
    {
        string source = Directory.Exists(modelOrDir) ? modelOrDir : GoldenCheckpoints.Dir(modelOrDir);
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(source).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        using var weights = SafetensorsCheckpoint.Open(source);
        var converted = weights.Entries.Select(e =>
        {
            using Tensor t = weights.GetTensor(e.Name);
            float[] values = t.ToFloatArray();
            Tensor c = Tensor.Allocate(dtype, t.Shape);
            FloatConversions.FromSingle(dtype, values, ((OwnedTensorData)c.Data).Span);
            return (e.Name, c);
        }).ToList();
        SafetensorsWriter.Write(Path.Combine(target, "model.safetensors"), converted);
        converted.ForEach(t => t.c.Dispose());
        return target;
    }
}
