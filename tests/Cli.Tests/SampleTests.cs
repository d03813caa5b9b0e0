using TorchToNnef.Formats.Safetensors;
using TorchToNnef.SampleGen;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

public class SampleTests
{
    [Fact]
    public void CommittedSampleIsExactlyWhatTheGeneratorWrites()
    {
        using var dir = new TempDir();
        TinyLlamaSample.Generate(dir.Path);
        string committed = Path.Combine(Golden.RepoRoot, "samples", "tiny-llama");
        foreach (string name in new[] { "config.json", "model.safetensors" })
        {
            Assert.True(File.ReadAllBytes(Path.Combine(committed, name)).AsSpan().SequenceEqual(File.ReadAllBytes(dir.File(name))),
                $"samples/tiny-llama/{name} differs from the generator's output; regenerate it (see samples/gen/Program.cs)");
        }

        Assert.True(new FileInfo(Path.Combine(committed, "model.safetensors")).Length < 1 << 20);
    }

    [Fact]
    public void SampleWeightsHaveTheDocumentedRanges()
    {
        using SafetensorsFile file = SafetensorsFile.Open(Path.Combine(Golden.RepoRoot, "samples", "tiny-llama", "model.safetensors"));
        foreach (SafetensorsEntry e in file.Entries)
        {
            using Tensor t = file.GetTensor(e);
            float[] v = t.ToFloatArray();
            (float lo, float hi) = e.Name.Contains("norm", StringComparison.Ordinal) ? (0.875f, 1.125f) : (-0.0625f, 0.0625f);
            Assert.All(v, x => Assert.InRange(x, lo, hi));
            Assert.True(v.Distinct().Count() > v.Length / 2, $"{e.Name} does not look random");
        }
    }
}
