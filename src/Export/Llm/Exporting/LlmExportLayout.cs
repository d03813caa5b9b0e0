using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.IO;

namespace TorchToNnef.Export.Llm.Exporting;

/// <summary>Where the files of an export go (<c>--export-dir-struct</c>, <c>llm-export.md</c> §4).</summary>
public enum LlmExportDirStruct
{
    /// <summary><c>model/model.nnef.tgz</c>, <c>model/config.json</c>, <c>tokenizer/</c>, <c>tests/</c>, <c>modes.json</c>.</summary>
    Deep,

    /// <summary><c>model.nnef.tgz</c>, <c>config.json</c> and the tokenizer files at the top; <c>tests/</c> and <c>modes.json</c> as deep.</summary>
    Flat,
}

/// <summary>Relative paths of the files of an export folder, and how an existing export folder is recognised.</summary>
public static class LlmExportLayout
{
    /// <summary><c>modes.json</c>: the modes the test bundles cover.</summary>
    public const string ModesFile = "modes.json";

    /// <summary>Folder of the check-io bundles.</summary>
    public const string TestsFolder = "tests";

    /// <summary>
    /// What <c>--ignore-already-exist-dir</c> may replace: a folder holding <c>modes.json</c> and nothing but the files
    /// an export writes (the archive, <c>config.json</c>, tokenizer files, <c>tests/*.npz</c>, in either layout) and no
    /// symbolic link. Anything else (a folder of documents, a checkpoint) is refused and kept.
    /// </summary>
    public static OutputKind ExportFolder { get; } = OutputKind.Directory("a folder holding only an LLM export", WhyNotAnExport);

    /// <summary>The archive.</summary>
    public static string Archive(LlmExportDirStruct layout) => layout == LlmExportDirStruct.Deep ? "model/model.nnef.tgz" : "model.nnef.tgz";

    /// <summary>The Hugging Face config copy (<c>-dwtac</c>).</summary>
    public static string Config(LlmExportDirStruct layout) => layout == LlmExportDirStruct.Deep ? "model/config.json" : "config.json";

    /// <summary>The tokenizer folder (deep layout; created even when empty, as the reference tool does), or null.</summary>
    public static string? TokenizerFolder(LlmExportDirStruct layout) => layout == LlmExportDirStruct.Deep ? "tokenizer" : null;

    /// <summary>A tokenizer file.</summary>
    public static string Tokenizer(LlmExportDirStruct layout, string fileName) =>
        layout == LlmExportDirStruct.Deep ? "tokenizer/" + fileName : fileName;

    /// <summary>A check-io bundle of <paramref name="mode"/> (<c>prompt</c>, <c>export</c>, ...).</summary>
    public static string TestBundle(string mode) => $"{TestsFolder}/{mode}_io.npz";

    private static bool IsExportFile(string relative)
    {
        string[] parts = relative.Split('/');
        return parts switch
        {
            [ModesFile or "model.nnef.tgz" or "config.json"] => true,
            [var f] => HfModelDirectory.TokenizerFileNames.Contains(f),
            [TestsFolder, var f] => f.EndsWith(".npz", StringComparison.Ordinal),
            ["model", "model.nnef.tgz" or "config.json"] => true,
            ["tokenizer", var f] => HfModelDirectory.TokenizerFileNames.Contains(f),
            _ => false,
        };
    }

    private static string? WhyNotAnExport(string folder) => OwnedFolderContents.WhyNotOwned(
        folder,
        (relative, isFolder) => (isFolder ? relative is "model" or "tokenizer" or TestsFolder : IsExportFile(relative))
            ? null
            : isFolder ? $"holds the folder '{relative}', which an LLM export does not write" : $"holds '{relative}', which an LLM export does not write",
        markerFile: ModesFile,
        markerMissing: $"it has no {ModesFile}, so it is not an LLM export");
}
