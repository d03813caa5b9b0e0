using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Safetensors;

/// <summary>
/// A model's weights in safetensors form: one file, or a Hugging Face directory holding either one
/// <c>model.safetensors</c> or shards listed by <c>model.safetensors.index.json</c>. Every shard is opened and
/// validated up front, and the index is checked against the shards: missing shard files, tensors the index lists
/// but its shard lacks, tensors in a shard the index does not list, and tensors present in two shards are errors.
/// </summary>
public sealed class SafetensorsCheckpoint : IDisposable
{
    private readonly SafetensorsFile[] _shards;
    private readonly Dictionary<string, SafetensorsFile> _shardOf;

    private SafetensorsCheckpoint(string path, SafetensorsFile[] shards, Dictionary<string, SafetensorsFile> shardOf, string? indexPath)
    {
        Path = path;
        _shards = shards;
        _shardOf = shardOf;
        IndexPath = indexPath;
        var entries = new List<SafetensorsEntry>(shardOf.Count);
        foreach (SafetensorsFile shard in shards)
        {
            entries.AddRange(shard.Entries);
        }

        Entries = entries;
    }

    /// <summary>The file or directory given to <see cref="Open"/>.</summary>
    public string Path { get; }

    /// <summary>The index file of a sharded checkpoint, or null.</summary>
    public string? IndexPath { get; }

    /// <summary>The shard files (one for an unsharded checkpoint), in file-name order.</summary>
    public IReadOnlyList<SafetensorsFile> Shards => _shards;

    /// <summary>All tensors: shard by shard in file-name order, each shard's tensors by offset.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>
    /// Opens a <c>.safetensors</c> file, or a directory with <c>model.safetensors.index.json</c> (or another single
    /// <c>*.safetensors.index.json</c>), or with exactly one <c>*.safetensors</c> file.
    /// </summary>
    /// <exception cref="InvalidInputFileException">Nothing to open, or a file or the index is invalid or inconsistent.</exception>
    public static SafetensorsCheckpoint Open(string pathOrDirectory)
    {
        if (File.Exists(pathOrDirectory))
        {
            return pathOrDirectory.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase)
                ? OpenSharded(pathOrDirectory, pathOrDirectory)
                : Single(pathOrDirectory, pathOrDirectory);
        }

        if (!Directory.Exists(pathOrDirectory))
        {
            throw new InvalidInputFileException(pathOrDirectory, null, "no such file or directory");
        }

        string? index = FindIndex(pathOrDirectory);
        if (index is not null)
        {
            return OpenSharded(pathOrDirectory, index);
        }

        string[] files = Directory.GetFiles(pathOrDirectory, "*.safetensors");
        string conventional = System.IO.Path.Combine(pathOrDirectory, "model.safetensors");
        if (File.Exists(conventional))
        {
            return Single(pathOrDirectory, conventional);
        }

        return files.Length switch
        {
            1 => Single(pathOrDirectory, files[0]),
            0 => throw new InvalidInputFileException(pathOrDirectory, null, "directory holds no .safetensors file"),
            _ => throw new InvalidInputFileException(pathOrDirectory, null,
                $"directory holds {files.Length} .safetensors files and no {SafetensorsIndex.FileName} saying how they fit together"),
        };
    }

    /// <summary>Looks a tensor up by name.</summary>
    public bool TryGetEntry(string name, out SafetensorsEntry entry)
    {
        entry = null!;
        return _shardOf.TryGetValue(name, out SafetensorsFile? shard) && shard.TryGetEntry(name, out entry);
    }

    /// <summary>The entry named <paramref name="name"/>.</summary>
    /// <exception cref="InvalidInputFileException">No tensor has that name.</exception>
    public SafetensorsEntry GetEntry(string name) => ShardOf(name).GetEntry(name);

    /// <summary>A zero-copy view of tensor <paramref name="name"/>, valid while the checkpoint is open.</summary>
    /// <exception cref="InvalidInputFileException">No tensor has that name.</exception>
    public Tensor GetTensor(string name) => ShardOf(name).GetTensor(name);

    /// <summary>Tensor <paramref name="name"/> as a lazily read variable source, valid while the checkpoint is open.</summary>
    /// <exception cref="InvalidInputFileException">No tensor has that name.</exception>
    public SafetensorsTensorSource GetSource(string name) => ShardOf(name).GetSource(name);

    /// <summary>The shard holding tensor <paramref name="name"/>.</summary>
    /// <exception cref="InvalidInputFileException">No tensor has that name.</exception>
    public SafetensorsFile ShardOf(string name) =>
        _shardOf.TryGetValue(name, out SafetensorsFile? shard)
            ? shard
            : throw new InvalidInputFileException(IndexPath ?? Path, name, "no such tensor in the checkpoint");

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (SafetensorsFile shard in _shards)
        {
            shard.Dispose();
        }
    }

    private static string? FindIndex(string directory)
    {
        string conventional = System.IO.Path.Combine(directory, SafetensorsIndex.FileName);
        if (File.Exists(conventional))
        {
            return conventional;
        }

        string[] indexes = Directory.GetFiles(directory, "*.safetensors.index.json");
        return indexes.Length switch
        {
            0 => null,
            1 => indexes[0],
            _ => throw new InvalidInputFileException(directory, null,
                $"directory holds {indexes.Length} *.safetensors.index.json files; pass the one to use"),
        };
    }

    private static SafetensorsCheckpoint Single(string path, string file)
    {
        SafetensorsFile shard = SafetensorsFile.Open(file);
        var shardOf = new Dictionary<string, SafetensorsFile>(shard.Entries.Count, StringComparer.Ordinal);
        foreach (SafetensorsEntry e in shard.Entries)
        {
            shardOf.Add(e.Name, shard);
        }

        return new SafetensorsCheckpoint(path, [shard], shardOf, indexPath: null);
    }

    private static SafetensorsCheckpoint OpenSharded(string path, string indexPath)
    {
        SafetensorsIndex index = SafetensorsIndex.Read(indexPath);
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(indexPath))!;
        string[] shardNames = index.WeightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        foreach (string name in shardNames)
        {
            string shardPath = System.IO.Path.Combine(directory, name);
            if (!File.Exists(shardPath))
            {
                string first = index.WeightMap.First(kv => kv.Value == name).Key;
                throw new InvalidInputFileException(indexPath, first, $"shard '{name}' listed in the index does not exist");
            }
        }

        var shards = new List<SafetensorsFile>(shardNames.Length);
        try
        {
            foreach (string name in shardNames)
            {
                shards.Add(SafetensorsFile.Open(System.IO.Path.Combine(directory, name)));
            }

            return new SafetensorsCheckpoint(path, [.. shards], MapTensors(index, shards), indexPath);
        }
        catch
        {
            shards.ForEach(s => s.Dispose());
            throw;
        }
    }

    private static Dictionary<string, SafetensorsFile> MapTensors(SafetensorsIndex index, List<SafetensorsFile> shards)
    {
        var shardOf = new Dictionary<string, SafetensorsFile>(index.WeightMap.Count, StringComparer.Ordinal);
        foreach (SafetensorsFile shard in shards)
        {
            string shardName = System.IO.Path.GetFileName(shard.Path);
            foreach (SafetensorsEntry e in shard.Entries)
            {
                if (shardOf.TryGetValue(e.Name, out SafetensorsFile? other))
                {
                    throw new InvalidInputFileException(shard.Path, e.Name,
                        $"tensor also present in shard '{System.IO.Path.GetFileName(other.Path)}'");
                }

                if (!index.WeightMap.TryGetValue(e.Name, out string? listed))
                {
                    throw new InvalidInputFileException(shard.Path, e.Name, $"tensor is not listed in {System.IO.Path.GetFileName(index.Path)}");
                }

                if (listed != shardName)
                {
                    throw new InvalidInputFileException(shard.Path, e.Name,
                        $"tensor found in shard '{shardName}' but the index puts it in '{listed}'");
                }

                shardOf.Add(e.Name, shard);
            }
        }

        foreach ((string tensor, string shardName) in index.WeightMap)
        {
            if (!shardOf.ContainsKey(tensor))
            {
                throw new InvalidInputFileException(index.Path, tensor, $"tensor listed in the index is missing from shard '{shardName}'");
            }
        }

        return shardOf;
    }
}
