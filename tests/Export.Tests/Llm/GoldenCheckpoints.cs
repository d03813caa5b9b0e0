using System.Text.Json.Nodes;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Export.Tests.Llm;

/// <summary>Copies of the golden Hugging Face checkpoints with an edited config, for negative controls and error tests.</summary>
internal static class GoldenCheckpoints
{
    /// <summary>The golden <c>hf/</c> folder of <paramref name="model"/>.</summary>
    public static string Dir(string model) => Golden.File("llm", model, "hf");

    /// <summary>Copies <paramref name="model"/>'s checkpoint into <paramref name="target"/>, applying <paramref name="edit"/> to its config.</summary>
    public static string CopyWithConfig(string model, string target, Action<JsonObject> edit)
    {
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(Dir(model)))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        string configPath = Path.Combine(target, "config.json");
        JsonObject config = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        edit(config);
        File.WriteAllText(configPath, config.ToJsonString());
        return target;
    }
}
