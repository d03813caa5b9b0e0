using TorchToNnef.Formats.Onnx;
using TorchToNnef.Tensors;

namespace TorchToNnef.OnnxTestSupport;

/// <summary>
/// How each real model of <c>.ci/real-models.tsv</c> is fed in tests and benchmarks: a typical concrete size for every
/// input whose dimensions are symbolic, and the inputs frozen to constants (what <c>--input-shape</c> and
/// <c>--input-value</c> would give on the command line).
/// </summary>
public static class RealModelInputs
{
    /// <summary>
    /// Models whose symbolic export is refused, asking for <c>--input-shape</c>: the PP-OCRv4 detector (its FPN adds
    /// maps whose sizes agree only for multiples of 32) and the silero VAD models (they test at run time whether a size
    /// is 1 and squeeze it, and slice by bounds that count from either end depending on the input length).
    /// </summary>
    public static bool NeedsConcreteShapes(string id) => id == "ch_PP-OCRv4_det_infer" || IsSilero(id);

    private static bool IsSilero(string id) => id.StartsWith("silero_vad", StringComparison.Ordinal);

    /// <summary>
    /// Inputs frozen to constants (ONNX name to value): the silero VAD sample rate, which picks the 16 kHz branches
    /// (for the variants that have that input, see <see cref="FrozenOf"/>).
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<double>> Frozen(string id) =>
        IsSilero(id)
            ? new Dictionary<string, IReadOnlyList<double>>(StringComparer.Ordinal) { ["sr"] = [16000] }
            : new Dictionary<string, IReadOnlyList<double>>(StringComparer.Ordinal);

    /// <summary>
    /// The concrete test shape of input <paramref name="input"/> of model <paramref name="id"/> when the model leaves
    /// some of its dimensions symbolic: text images 48 pixels high for the OCR classifier and recognizer, a 320x320
    /// image for the detector, one 512-sample chunk (32 ms at 16 kHz) and its recurrent state for silero VAD, 1760 samples
    /// (80 ms plus the 30 ms of context openWakeWord prepends) for its melspectrogram, 76 mel frames for its embedding.
    /// </summary>
    public static long[]? TestShape(string id, string input) => (id, input) switch
    {
        ("ch_PP-OCRv4_det_infer", _) => [1, 3, 320, 320],
        ("ch_ppocr_mobile_v2.0_cls_infer", _) => [1, 3, 48, 192],
        ("ch_PP-OCRv4_rec_infer", _) => [1, 3, 48, 320],
        (_, "input") when IsSilero(id) => [1, 512],
        (_, "h") or (_, "c") when IsSilero(id) => [2, 1, 64],
        (_, "state") when IsSilero(id) => [2, 1, 128],
        ("melspectrogram", "input") => [1, 1760],
        ("embedding_model", "input_1") => [1, 76, 32, 1],
        _ => null,
    };

    /// <summary>
    /// The concrete shape of every runtime (not frozen) input of <paramref name="model"/>: its declared shape when fixed,
    /// else <paramref name="shapeOf"/>'s (by default <see cref="TestShape"/>).
    /// </summary>
    public static Dictionary<string, long[]> Shapes(string id, OnnxModel model, Func<string, string, long[]?>? shapeOf = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        shapeOf ??= TestShape;
        Dictionary<string, IReadOnlyList<double>> frozen = FrozenOf(id, model);
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (OnnxValueInfo input in model.Graph.RuntimeInputs.Where(i => !frozen.ContainsKey(i.Name)))
        {
            long[]? fixedShape = input.Shape?.All(d => d.Value is long) == true ? [.. input.Shape.Select(d => d.Value!.Value)] : null;
            shapes[input.Name] = fixedShape ?? shapeOf(id, input.Name) ?? throw new InvalidOperationException($"{id}: no test shape for input '{input.Name}'");
        }

        return shapes;
    }

    /// <summary>The entries of <see cref="Frozen"/> that name an input of <paramref name="model"/>.</summary>
    public static Dictionary<string, IReadOnlyList<double>> FrozenOf(string id, OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Frozen(id).Where(kv => model.Graph.RuntimeInputs.Any(i => i.Name == kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    /// <summary>The frozen inputs as the tensors ONNX Runtime is fed (their declared element type, shape [] or [n]).</summary>
    public static Dictionary<string, Tensor> FrozenTensors(string id, OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach ((string name, IReadOnlyList<double> values) in FrozenOf(id, model))
        {
            OnnxValueInfo input = model.Graph.RuntimeInputs.First(i => i.Name == name);
            Shape shape = input.Shape is { Count: 0 } ? new Shape([]) : new Shape([values.Count]);
            tensors[name] = input.ElementType switch
            {
                OnnxDataType.Int64 => Tensor.FromSpan<long>(DType.I64, shape, [.. values.Select(v => (long)v)]),
                OnnxDataType.Float => Tensor.FromFloats(shape, [.. values.Select(v => (float)v)]),
                OnnxDataType t => throw new InvalidOperationException($"{id}: frozen input '{name}' of type {t}"),
            };
        }

        return tensors;
    }
}
