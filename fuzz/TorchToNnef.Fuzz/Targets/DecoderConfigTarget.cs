using TorchToNnef.Formats.HuggingFace;

namespace TorchToNnef.Fuzz.Targets;

/// <summary>A Hugging Face <c>config.json</c> as the LLM exporter reads it (typed, validated, rotary settings resolved).</summary>
internal sealed class DecoderConfigTarget : FuzzTarget
{
    public override string Name => "decoder-config";

    public override string Description => "DecoderConfig.Read";

    public override void Run(byte[] input, Scratch scratch) => DecoderConfig.Read(scratch.Write("config.json", input));

    public override IEnumerable<Seed> Seeds(GoldenFiles golden) => golden.Files("config.json", 64 << 10, 16);
}
