using TorchToNnef.Fuzz.Targets;

namespace TorchToNnef.Fuzz;

/// <summary>Every fuzz target, one per reader; a target listed here is run by fuzz/run.sh all and the CI smoke test.</summary>
internal static class TargetCatalog
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new SafetensorsTarget(),
        new SafetensorsIndexTarget(),
        new NpyTarget(),
        new NpzTarget(),
        new NnefTextTarget(),
        new GraphQuantTarget(),
        new DatTarget(),
        new ArchiveTarget(),
        new ArchiveHeadersTarget(),
        new ConfigSummaryTarget(),
        new DecoderConfigTarget(),
        new OnnxTarget(),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
