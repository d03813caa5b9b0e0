namespace TorchToNnef.Export.Onnx;

/// <summary>Options of <see cref="OnnxExporter.Translate"/>.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// Concrete shapes for inputs by ONNX name (<c>--input-shape x=1,3,224,224</c>): they replace named or unknown
    /// dimensions; a dimension the model fixes must be given its own value.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<long>> InputShapes { get; init; } = new Dictionary<string, IReadOnlyList<long>>();

    /// <summary>
    /// Inputs frozen to constants by ONNX name (<c>--input-value sr=16000</c>): every element, in row-major order, of the
    /// input's declared (or <see cref="InputShapes"/>) shape, converted to its element type. Shape logic and <c>If</c>
    /// branches that depend on them fold away; the archive records them.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<double>> InputValues { get; init; } = new Dictionary<string, IReadOnlyList<double>>();

    /// <summary>The tract release the archive is for (decides which operators may be used); recorded as <c>tract_target_version</c>.</summary>
    public TractVersion TractVersion { get; init; } = TractVersion.Latest;
}
