using TorchToNnef.Cli.Inspect;
using TorchToNnef.Export.Pipeline;

namespace TorchToNnef.Cli.Commands;

/// <summary><c>t2n inspect &lt;path&gt; [--json]</c>: lists the tensors, totals and model config of an input.</summary>
internal sealed class InspectCommand : ICommand
{
    public string Name => "inspect";

    public string Summary => "List the tensors, sizes and model config of a checkpoint or NNEF model";

    public string Usage => """
        Usage: t2n inspect <path> [--json]

        <path>   a .safetensors file, a *.safetensors.index.json, or a Hugging Face checkpoint
                 directory (model.safetensors or sharded with model.safetensors.index.json);
                 or an NNEF model: a .nnef.tgz / .tar archive or a directory with graph.nnef
                 (adds inputs/outputs with symbols, operator histogram, graph.quant entries,
                 properties and bits per weight); or an ONNX model (.onnx, with its external data)
        --json   print the report as JSON instead of text

        Only headers are read, so inspecting a large checkpoint is fast and uses little memory.
        """;

    public int Execute(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellation)
    {
        var parsed = new ArgList(args, [], ["--json"]);
        string path = parsed.SinglePositional("input path");
        InspectReport report = ModelPipeline.Inspect(path, cancellation);
        if (parsed.Has("--json"))
        {
            stdout.WriteLine(report.ToJson());
        }
        else
        {
            InspectTextFormatter.Write(report, stdout);
        }

        return 0;
    }
}
