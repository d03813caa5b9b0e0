using System.Text.Json;

namespace TorchToNnef.TestSupport;

/// <summary>
/// The files the golden manifests list (not what happens to be on disk), so tests can demand exact counts and fail when
/// a file is missing or a folder is empty: <c>manifest.json</c>'s export folders and their <c>files</c>, the q40
/// manifest's inputs, dequant and <c>.dat</c> files, <c>llm/results.json</c>'s <c>files</c> per model, and the
/// Hugging Face reference bundles <c>reference/hf_&lt;mode&gt;_io.npz</c> named by each model's <c>hf_io.json</c> modes.
/// Paths are relative to the golden folder, with '/' separators.
/// </summary>
public static class GoldenManifest
{
    private static readonly Lazy<Index> Data = new(Load);

    /// <summary>Every listed file.</summary>
    public static IReadOnlyList<string> Files => Data.Value.Files;

    /// <summary>The export folders (<c>export_*</c>) the top-level manifest lists.</summary>
    public static IReadOnlyList<string> ExportFolders => Data.Value.ExportFolders;

    /// <summary>The LLM models <c>llm/results.json</c> lists.</summary>
    public static IReadOnlyList<string> LlmModels => Data.Value.LlmModels;

    /// <summary>Listed files whose name ends with <paramref name="suffix"/>, optionally under <paramref name="folder"/>.</summary>
    public static IReadOnlyList<string> FilesEndingWith(string suffix, string? folder = null) =>
        [.. Files.Where(f => f.EndsWith(suffix, StringComparison.Ordinal) && (folder is null || f.StartsWith(folder.TrimEnd('/') + "/", StringComparison.Ordinal)))];

    /// <summary>A golden-relative path (any separators) in the manifests' spelling.</summary>
    public static string Relative(string path) => Path.GetRelativePath(Golden.Dir, path).Replace('\\', '/');

    private static Index Load()
    {
        var files = new List<string>();
        var exports = new List<string>();
        using (JsonDocument top = Read("manifest.json"))
        {
            foreach (JsonElement folder in top.RootElement.GetProperty("folders").EnumerateArray())
            {
                string name = folder.GetProperty("folder").GetString()!;
                if (folder.GetProperty("kind").GetString() != "export")
                {
                    continue;
                }

                exports.Add(name);
                using JsonDocument m = Read(folder.GetProperty("manifest").GetString()!);
                files.AddRange(m.RootElement.GetProperty("files").EnumerateArray().Select(f => name + "/" + f.GetProperty("path").GetString()));
            }
        }

        using (JsonDocument q40 = Read("q40/manifest.json"))
        {
            foreach (JsonElement c in q40.RootElement.GetProperty("cases").EnumerateArray())
            {
                files.Add("q40/" + c.GetProperty("input_file").GetString());
                files.Add("q40/" + c.GetProperty("dequant_file").GetString());
                files.AddRange(c.GetProperty("dat_files").EnumerateArray().Select(d => "q40/" + d.GetProperty("file").GetString()));
            }

            files.AddRange(q40.RootElement.GetProperty("error_cases").EnumerateArray().Select(c => "q40/" + c.GetProperty("input_file").GetString()));
        }

        var models = new List<string>();
        using (JsonDocument results = Read("llm/results.json"))
        {
            foreach (JsonProperty model in results.RootElement.EnumerateObject())
            {
                models.Add(model.Name);
                files.AddRange(model.Value.GetProperty("files").EnumerateArray().Select(f => $"llm/{model.Name}/{f.GetProperty("path").GetString()}"));
                using JsonDocument hf = Read($"llm/{model.Name}/reference/hf_io.json");
                files.AddRange(hf.RootElement.GetProperty("modes").EnumerateObject().Select(m => $"llm/{model.Name}/reference/hf_{m.Name}_io.npz"));
            }
        }

        if (files.Count == 0 || exports.Count == 0 || models.Count == 0)
        {
            throw new InvalidDataException($"the golden manifests list {files.Count} files, {exports.Count} export folders, {models.Count} LLM models");
        }

        return new Index([.. files.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)], exports, models);
    }

    private static JsonDocument Read(string relative) => JsonDocument.Parse(File.ReadAllBytes(Golden.File(relative.Split('/'))));

    private sealed record Index(IReadOnlyList<string> Files, IReadOnlyList<string> ExportFolders, IReadOnlyList<string> LlmModels);
}
