using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Tensors;

namespace TorchToNnef.OnnxTestSupport;

/// <summary>
/// Runs an ONNX model in ONNX Runtime (one thread, all graph optimizations off so that what runs is the model as
/// written) and returns its outputs as our tensors: the independent reference the exporter's results are checked
/// against.
/// </summary>
public static class OnnxRuntimeOracle
{
    /// <summary>Runs <paramref name="modelPath"/> on <paramref name="inputs"/> and returns every graph output by name.</summary>
    public static Dictionary<string, Tensor> Run(string modelPath, IReadOnlyDictionary<string, Tensor> inputs)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        using var session = new InferenceSession(modelPath, options);
        var ortInputs = new Dictionary<string, OrtValue>(StringComparer.Ordinal);
        try
        {
            foreach ((string name, Tensor t) in inputs)
            {
                ortInputs.Add(name, ToOrt(t));
            }

            string[] outputNames = session.OutputNames.ToArray();
            using var runOptions = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> results = session.Run(runOptions, ortInputs, outputNames);
            var outputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            int i = 0;
            foreach (OrtValue value in results)
            {
                outputs.Add(outputNames[i++], FromOrt(value));
            }

            return outputs;
        }
        finally
        {
            foreach (OrtValue v in ortInputs.Values)
            {
                v.Dispose();
            }
        }
    }

    /// <summary>The ONNX Runtime version in use (for reports).</summary>
    public static string Version => OrtEnv.Instance().GetVersionString();

    private static OrtValue ToOrt(Tensor t)
    {
        var type = (TensorElementType)(int)OnnxDataTypes.FromDType(t.DType);
        OrtValue value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, t.Shape.ToArray());
        t.Data.Read(0, value.GetTensorMutableRawData());
        return value;
    }

    private static Tensor FromOrt(OrtValue value)
    {
        OrtTensorTypeAndShapeInfo info = value.GetTensorTypeAndShape();
        var onnxType = (OnnxDataType)(int)info.ElementDataType;
        if (!onnxType.TryGetDType(out DType dtype))
        {
            throw new NotSupportedException($"ONNX Runtime returned a {onnxType.Name()} tensor, which has no dtype of ours.");
        }

        Tensor result = Tensor.Allocate(dtype, new Shape(info.Shape));
        value.GetTensorMutableRawData().CopyTo(((OwnedTensorData)result.Data).Span);
        return result;
    }
}
