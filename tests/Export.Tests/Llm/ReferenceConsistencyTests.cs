using System.Text.Json.Nodes;
using TorchToNnef.Export.Llm;
using TorchToNnef.Export.Llm.Reference;
using TorchToNnef.Export.Verification;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Export.Tests.Llm;

/// <summary>
/// Properties the reference pass must have on any decoder, checked on synthetic checkpoints of every family with
/// shapes the goldens lack (head_dim ≠ hidden/heads, 3 query heads per KV head, a sliding window): a prompt gives the
/// same logits and caches whether it is run at once, in two steps over a cache, or token by token; positions
/// outside a sliding window have no influence.
/// </summary>
public class ReferenceConsistencyTests(ITestOutputHelper log)
{
    private static readonly long[] Prompt = [1, 17, 42, 5, 88, 31, 7, 64, 12, 3];

    public static TheoryData<string> Families() => new(DecoderFamilies.All.Select(f => f.ModelType));

    [Theory]
    [MemberData(nameof(Families))]
    public void PromptAtOnceEqualsTwoStepsAndTokenByToken(string family)
    {
        using var dir = new TempDir();
        JsonObject config = SyntheticModels.Config(family);
        config["attention_bias"] = true; // llama and qwen3 read it; qwen2 has q/k/v biases anyway
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(SyntheticModels.Write(dir.File("m"), config));
        var reference = new DecoderReference(checkpoint);

        ForwardResult whole = reference.Run(Prompt, logitsToKeep: 0);
        Assert.Equal(Prompt.Length, whole.LogitPositions);

        ForwardResult first = reference.Run(Prompt.AsSpan(0, 6), logitsToKeep: 0);
        ForwardResult second = reference.Run(Prompt.AsSpan(6), first.Caches, logitsToKeep: 0);
        AssertClose(whole.Logits.AsSpan(6 * 96).ToArray(), second.Logits, "two steps, logits");
        AssertClose(whole.Logits.AsSpan(0, 6 * 96).ToArray(), first.Logits, "first step, logits");
        AssertCachesClose(whole, second);

        IReadOnlyList<KvCache>? past = null;
        for (int t = 0; t < Prompt.Length; t++)
        {
            ForwardResult step = reference.Run(Prompt.AsSpan(t, 1), past);
            AssertClose(whole.Logits.AsSpan(t * 96, 96).ToArray(), step.Logits, $"token {t}");
            past = step.Caches;
        }
    }

    [Fact]
    public void KeysOutsideTheSlidingWindowHaveNoInfluence()
    {
        using var dir = new TempDir();
        JsonObject config = SyntheticModels.Config("mistral");
        config["sliding_window"] = 4;
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(SyntheticModels.Write(dir.File("m"), config));
        Assert.All(checkpoint.Architecture.Layers, l => Assert.Equal(4, l.AttentionWindow));
        var reference = new DecoderReference(checkpoint);
        ForwardResult prefix = reference.Run(Prompt.AsSpan(0, 7));
        ForwardResult clean = reference.Run(Prompt.AsSpan(7, 1), prefix.Caches);

        // Position 7 sees positions 4..7: overwrite 0..3 of every cache with garbage.
        List<KvCache> corrupted = prefix.Caches.Select(c => Corrupt(c, positions: 4)).ToList();
        ForwardResult dirty = reference.Run(Prompt.AsSpan(7, 1), corrupted);
        Assert.Equal(clean.Logits, dirty.Logits);

        // Control: one more corrupted position is inside the window and changes the result.
        ForwardResult inside = reference.Run(Prompt.AsSpan(7, 1), prefix.Caches.Select(c => Corrupt(c, positions: 5)).ToList());
        Assert.NotEqual(clean.Logits, inside.Logits);
    }

    private static KvCache Corrupt(KvCache cache, int positions)
    {
        float[] k = (float[])cache.Keys.Clone();
        float[] v = (float[])cache.Values.Clone();
        for (int g = 0; g < cache.KvHeads; g++)
        {
            for (int p = 0; p < positions; p++)
            {
                for (int i = 0; i < cache.HeadDim; i++)
                {
                    int at = (((g * cache.Length) + p) * cache.HeadDim) + i;
                    k[at] = 3 + (i * 0.5f);
                    v[at] = -7 + i;
                }
            }
        }

        return new KvCache(cache.KvHeads, cache.Length, cache.HeadDim, k, v);
    }

    private void AssertCachesClose(ForwardResult a, ForwardResult b)
    {
        for (int i = 0; i < a.Caches.Count; i++)
        {
            AssertClose(a.Caches[i].Keys, b.Caches[i].Keys, $"layer {i} keys");
            AssertClose(a.Caches[i].Values, b.Caches[i].Values, $"layer {i} values");
        }
    }

    private void AssertClose(float[] expected, float[] got, string what)
    {
        OutputComparison c = OutputComparison.Compare(what, Evaluation.TensorValue.F32([expected.Length], expected), Evaluation.TensorValue.F32([got.Length], got), Approximation.Close);
        log.WriteLine($"{what}: max abs {c.MaxAbsError:G3}");
        Assert.True(c.Passed, $"{what}: {c.Detail}");
    }
}
