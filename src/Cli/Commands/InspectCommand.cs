using System.Text.Json;
using TorchToNnef.Cli.Inspect;
using TorchToNnef.Errors;

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
                 properties and bits per weight)
        --json   print the report as JSON instead of text

        Only headers are read, so inspecting a large checkpoint is fast and uses little memory.
        """;

    public int Execute(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellation)
    {
        var parsed = new ArgList(args, [], ["--json"]);
        string path = parsed.SinglePositional("input path");
        IModelInspector inspector = Array.Find(InspectorCatalog.All, i => i.CanInspect(path))
            ?? throw new InvalidInputFileException(path, null, File.Exists(path) || Directory.Exists(path)
                ? "not a recognized input (expected a .safetensors file, a checkpoint directory or an NNEF archive)"
                : "no such file or directory");
        InspectReport report = inspector.Inspect(path);
        if (parsed.Has("--json"))
        {
            stdout.WriteLine(JsonSerializer.Serialize(report, InspectJsonContext.Default.InspectReport));
        }
        else
        {
            InspectTextFormatter.Write(report, stdout);
        }

        return 0;
    }
}
