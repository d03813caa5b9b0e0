using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace TorchToNnef.Fuzz;

/// <summary>
/// Read-only access to ../shared/golden for seed generation: small files by name pattern, in a stable order,
/// without duplicates. afl-fuzz works best from few, small seeds, so each query is capped in size and count.
/// </summary>
internal sealed class GoldenFiles(string root)
{
    /// <summary>The golden folder.</summary>
    public string Root { get; } = root;

    /// <summary>Files matching <paramref name="pattern"/> of at most <paramref name="maxBytes"/>, distinct by content.</summary>
    public IEnumerable<Seed> Files(string pattern, long maxBytes, int maxCount)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int count = 0;
        foreach (string path in Directory.EnumerateFiles(Root, pattern, SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (count == maxCount)
            {
                yield break;
            }

            if (new FileInfo(path).Length > maxBytes)
            {
                continue;
            }

            byte[] bytes = File.ReadAllBytes(path);
            if (seen.Add(Convert.ToHexString(SHA256.HashData(bytes))))
            {
                count++;
                yield return new Seed(SeedName(path), bytes);
            }
        }
    }

    /// <summary>Folders named <paramref name="name"/> (golden NNEF exports are folders named <c>nnef</c>).</summary>
    public IEnumerable<string> Folders(string name) =>
        Directory.EnumerateDirectories(Root, name, SearchOption.AllDirectories).Order(StringComparer.Ordinal);

    /// <summary>The members named <paramref name="memberName"/> inside the golden <c>.tgz</c> archives up to <paramref name="maxArchiveBytes"/>.</summary>
    public IEnumerable<Seed> ArchiveMembers(string memberName, long maxArchiveBytes, int maxCount)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (Seed archive in Files("*.tgz", maxArchiveBytes, int.MaxValue))
        {
            using var gzip = new GZipStream(new MemoryStream(archive.Bytes), CompressionMode.Decompress);
            using var tar = new TarReader(gzip);
            while (tar.GetNextEntry() is { } entry)
            {
                if (Path.GetFileName(entry.Name) != memberName || entry.DataStream is null)
                {
                    continue;
                }

                using var copy = new MemoryStream();
                entry.DataStream.CopyTo(copy);
                byte[] bytes = copy.ToArray();
                if (seen.Add(Convert.ToHexString(SHA256.HashData(bytes))))
                {
                    yield return new Seed($"{archive.Name}-{memberName}", bytes);
                    if (seen.Count == maxCount)
                    {
                        yield break;
                    }
                }
            }
        }
    }

    /// <summary>A file name for a seed that says where it came from: its path under the golden folder, flattened.</summary>
    public string SeedName(string path) =>
        "golden-" + Path.GetRelativePath(Root, path).Replace('/', '_').Replace('\\', '_');
}
