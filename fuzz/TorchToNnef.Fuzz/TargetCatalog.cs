using TorchToNnef.Fuzz.Targets;

namespace TorchToNnef.Fuzz;

/// <summary>
/// Every fuzz target, one per reader. ONNX: the loader is being written on another branch; once
/// <c>src/Formats/Onnx</c> is on main, add an <c>OnnxTarget</c> here (model bytes in, every initializer read, seeds from
/// the golden <c>*.onnx</c>) and it joins fuzz/run.sh and the CI smoke test without other changes.
/// </summary>
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
        new ConfigSummaryTarget(),
        new DecoderConfigTarget(),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
