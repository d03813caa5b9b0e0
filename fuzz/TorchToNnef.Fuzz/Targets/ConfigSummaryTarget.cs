using TorchToNnef.Formats.HuggingFace;

namespace TorchToNnef.Fuzz.Targets;

/// <summary>A Hugging Face <c>config.json</c> as <c>t2n inspect</c> summarizes it.</summary>
internal sealed class ConfigSummaryTarget : FuzzTarget
{
    public override string Name => "config-summary";

    public override string Description => "ModelConfigSummary.Read";

    public override void Run(byte[] input, Scratch scratch) => ModelConfigSummary.Read(scratch.Write("config.json", input));

    public override IEnumerable<Seed> Seeds(GoldenFiles golden) => golden.Files("config.json", 64 << 10, 16);
}
