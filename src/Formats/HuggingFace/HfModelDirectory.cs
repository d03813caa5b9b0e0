using TorchToNnef.Errors;

namespace TorchToNnef.Formats.HuggingFace;

/// <summary>
/// The files of a Hugging Face checkpoint on disk: the folder holding <c>config.json</c> (and the safetensors
/// weights), <c>generation_config.json</c> if present, and the tokenizer files. A local directory is taken as is,
/// or, as the reference tool does, the unique sub-folder holding <c>config.json</c> is the model and the unique one
/// holding <c>tokenizer.json</c> the tokenizer. A model id is looked up offline in the Hugging Face cache.
/// </summary>
public sealed record HfModelDirectory
{
    /// <summary>File names of a tokenizer, as <c>save_pretrained</c> writes them (those present are listed).</summary>
    public static readonly IReadOnlyList<string> TokenizerFileNames =
    [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model", "vocab.json", "merges.txt",
        "added_tokens.json", "chat_template.jinja", "chat_template.json",
    ];

    // Sub-folders searched below a local directory (the model may sit a couple of levels down, never deep).
    private const int MaxSearchDepth = 3;

    /// <summary>What the user named: the local directory or the model id.</summary>
    public required string Source { get; init; }

    /// <summary>The folder holding <c>config.json</c> and the weights.</summary>
    public required string ModelDir { get; init; }

    /// <summary><c>config.json</c>.</summary>
    public string ConfigPath => Path.Combine(ModelDir, "config.json");

    /// <summary><c>generation_config.json</c>, or null when absent.</summary>
    public string? GenerationConfigPath { get; init; }

    /// <summary>The folder holding the tokenizer (the model folder when it has one there), or null.</summary>
    public string? TokenizerDir { get; init; }

    /// <summary>Tokenizer files present in <see cref="TokenizerDir"/>, in <see cref="TokenizerFileNames"/> order.</summary>
    public IReadOnlyList<string> TokenizerFiles { get; init; } = [];

    /// <summary>Opens a local checkpoint directory.</summary>
    /// <exception cref="InvalidInputFileException">No <c>config.json</c>, or several candidate folders.</exception>
    public static HfModelDirectory FromLocalDirectory(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new InvalidInputFileException(directory, null, "no such directory");
        }

        string modelDir = FindUnique(directory, "config.json")
            ?? throw new InvalidInputFileException(directory, null, "no config.json in this directory or its sub-folders; not a Hugging Face checkpoint");
        return Describe(directory, modelDir, directory);
    }

    /// <summary>Opens a model by id from the local Hugging Face cache (offline).</summary>
    /// <exception cref="ArgumentException">Not a model id.</exception>
    /// <exception cref="InvalidInputFileException">Not in the cache (the message says where it looked), or no <c>config.json</c>.</exception>
    public static HfModelDirectory FromCache(string slug, Func<string, string?>? environment = null)
    {
        string snapshot = HfHubCache.ResolveSnapshot(slug, environment);
        if (!File.Exists(Path.Combine(snapshot, "config.json")))
        {
            throw new InvalidInputFileException(snapshot, null, $"cached snapshot of '{slug}' has no config.json (incomplete download?)");
        }

        return Describe(slug, snapshot, snapshot);
    }

    private static HfModelDirectory Describe(string source, string modelDir, string searchRoot)
    {
        string? tokenizerDir = File.Exists(Path.Combine(modelDir, "tokenizer.json")) || File.Exists(Path.Combine(modelDir, "tokenizer.model"))
            ? modelDir
            : FindUnique(searchRoot, "tokenizer.json") ?? FindUnique(searchRoot, "tokenizer.model");
        string generation = Path.Combine(modelDir, "generation_config.json");
        return new HfModelDirectory
        {
            Source = source,
            ModelDir = modelDir,
            GenerationConfigPath = File.Exists(generation) ? generation : null,
            TokenizerDir = tokenizerDir,
            TokenizerFiles = tokenizerDir is null
                ? []
                : TokenizerFileNames.Select(n => Path.Combine(tokenizerDir, n)).Where(File.Exists).ToList(),
        };
    }

    // The folder holding fileName: the root itself if it has one, else the unique folder below it (breadth first,
    // shallowest level that has any); several at the same level are ambiguous.
    private static string? FindUnique(string root, string fileName)
    {
        var level = new List<string> { root };
        for (int depth = 0; depth <= MaxSearchDepth && level.Count > 0; depth++)
        {
            List<string> hits = level.Where(d => File.Exists(Path.Combine(d, fileName))).ToList();
            if (hits.Count == 1)
            {
                return hits[0];
            }

            if (hits.Count > 1)
            {
                throw new InvalidInputFileException(root, null,
                    $"{hits.Count} folders hold a {fileName} ({string.Join(", ", hits.Select(h => Path.GetRelativePath(root, h)))}); pass the one to use");
            }

            level = level.SelectMany(SubDirectories).ToList();
        }

        return null;
    }

    private static IEnumerable<string> SubDirectories(string dir)
    {
        try
        {
            // Hidden folders (.git, .cache) are never a model.
            return Directory.GetDirectories(dir).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal);
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }
}
