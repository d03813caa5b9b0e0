using TorchToNnef.Formats.Onnx;
using TorchToNnef.Tensors;

namespace TorchToNnef.Fuzz.Targets;

/// <summary>
/// An ONNX model (protobuf): structure, versions, graph scoping, tensor types and sizes; then every initializer and
/// every Constant node's value read, as the translator would.
/// </summary>
internal sealed class OnnxTarget : FuzzTarget
{
    public override string Name => "onnx";

    public override string Description => "OnnxModel.Load + every initializer and Constant value read";

    public override void Run(byte[] input, Scratch scratch)
    {
        using OnnxModel model = OnnxModel.Load(scratch.Write("model.onnx", input));
        _ = model.Graph.OperatorHistogram();
        foreach (OnnxTensor initializer in model.Graph.InitializerList)
        {
            using Tensor tensor = initializer.Open();
            Touch.Tensor(tensor, initializer.Name);
        }

        foreach (OnnxNode node in model.Graph.Nodes)
        {
            if (node.OpType == "Constant" && node.Domain.Length == 0)
            {
                using Tensor tensor = OnnxConstants.Value(node).Open();
                Touch.Tensor(tensor, node.DisplayName);
            }
        }
    }

    public override IEnumerable<Seed> Seeds(GoldenFiles golden) => golden.Files("*.onnx", 64 << 10, 8);
}
