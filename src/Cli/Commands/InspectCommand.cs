using System.CommandLine;
using TorchToNnef.Cli.Inspect;
using TorchToNnef.Export.Pipeline;

namespace TorchToNnef.Cli.Commands;

/// <summary><c>t2n inspect &lt;path&gt; [--json]</c>: lists the tensors, totals and model config of an input.</summary>
internal sealed class InspectCommand : ICommand
{
    public string Name => "inspect";

    public string Summary => "List the tensors, sizes and model config of a checkpoint or NNEF model";

    public Command Define() => Opt.Command(Name, Summary, """
        Only headers are read, so inspecting a large checkpoint is fast and uses little memory. With --json the report
        is printed as JSON.
        """,
        Opt.Path("path", """
            a .safetensors file, a *.safetensors.index.json, or a Hugging Face checkpoint directory (model.safetensors
            or sharded with model.safetensors.index.json); or an NNEF model: a .nnef.tgz / .tar archive or a directory
            with graph.nnef (adds inputs/outputs with symbols, operator histogram, graph.quant entries, properties and
            bits per weight); or an ONNX model (.onnx, with its external data)
            """));

    public int Execute(CommandArgs args, CommandContext context)
    {
        string path = args.Argument("path");
        context.Summary.Inputs.Add(path);
        InspectReport report = ModelPipeline.Inspect(path, context.Cancellation);
        if (context.Mode.Json)
        {
            // The report is the summary: inspect's JSON is the report itself, as before the common summary existed.
            context.RawOut.WriteLine(report.ToJson());
            context.SummaryPrinted = true;
        }
        else
        {
            InspectTextFormatter.Write(report, context.Out);
        }

        return 0;
    }
}
