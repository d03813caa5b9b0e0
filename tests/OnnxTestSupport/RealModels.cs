using System.Security.Cryptography;
using TorchToNnef.TestSupport;

namespace TorchToNnef.OnnxTestSupport;

/// <summary>One real model pinned in <c>.ci/real-models.tsv</c>.</summary>
/// <param name="Id">File name without <c>.onnx</c>, e.g. <c>ch_PP-OCRv4_det_infer</c>.</param>
/// <param name="Package">The npm package spec it comes from.</param>
/// <param name="Path">Where the cached file is.</param>
/// <param name="Sha256">The pinned hash.</param>
public sealed record RealModel(string Id, string Package, string Path, string Sha256)
{
    /// <inheritdoc />
    public override string ToString() => Id;
}

/// <summary>
/// The real ONNX models the tests use, read from the cache that <c>.ci/fetch-models</c> fills (<c>$T2N_MODEL_CACHE</c>,
/// else <c>$XDG_CACHE_HOME/t2n-models</c> or <c>~/.cache/t2n-models</c>). A missing or altered file fails the test
/// that asks for it, with the command that fetches it: never a silent skip, never a network access from a test.
/// </summary>
public static class RealModels
{
    private static readonly Lazy<RealModel[]> Manifest = new(ReadManifest);
    private static readonly HashSet<string> Verified = new(StringComparer.Ordinal);

    /// <summary>The cache folder.</summary>
    public static string CacheDir
    {
        get
        {
            string? explicitDir = Environment.GetEnvironmentVariable("T2N_MODEL_CACHE");
            if (!string.IsNullOrEmpty(explicitDir))
            {
                return explicitDir;
            }

            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string baseDir = !string.IsNullOrEmpty(xdg) ? xdg : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return System.IO.Path.Combine(baseDir, "t2n-models");
        }
    }

    /// <summary>Every pinned model (without checking the cache).</summary>
    public static IReadOnlyList<RealModel> All => Manifest.Value;

    /// <summary>Ids of every pinned model, one row each, for <c>[MemberData]</c>.</summary>
    public static IEnumerable<object[]> IdRows => All.Select(m => new object[] { m.Id });

    /// <summary>The path of model <paramref name="id"/>, after checking that it is cached with the pinned hash.</summary>
    /// <exception cref="FileNotFoundException">The model is not cached (the message gives the command to fetch it).</exception>
    /// <exception cref="InvalidDataException">The cached file does not have the pinned hash.</exception>
    public static string Get(string id)
    {
        RealModel model = All.FirstOrDefault(m => m.Id == id) ?? throw new ArgumentException($"No real model '{id}' in .ci/real-models.tsv.", nameof(id));
        if (!File.Exists(model.Path))
        {
            throw new FileNotFoundException(
                $"Real model {model.Id} ({model.Package}) is not in the cache at {model.Path}. Populate the cache with: bash .ci/fetch-models (from the repository root; needs npm and the npm registry).");
        }

        lock (Verified)
        {
            if (!Verified.Contains(model.Path))
            {
                using FileStream stream = File.OpenRead(model.Path);
                string sum = Convert.ToHexStringLower(SHA256.HashData(stream));
                if (sum != model.Sha256)
                {
                    throw new InvalidDataException(
                        $"{model.Path} has sha256 {sum}, not the pinned {model.Sha256}; delete it and run: bash .ci/fetch-models");
                }

                Verified.Add(model.Path);
            }
        }

        return model.Path;
    }

    private static RealModel[] ReadManifest()
    {
        string manifest = System.IO.Path.Combine(Golden.RepoRoot, ".ci", "real-models.tsv");
        var models = new List<RealModel>();
        foreach (string line in File.ReadAllLines(manifest))
        {
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            string[] cols = line.Split('\t');
            if (cols.Length != 3)
            {
                throw new InvalidDataException($"{manifest}: expected 3 tab-separated columns in '{line}'.");
            }

            string folder = cols[0].TrimStart('@').Replace('/', '-').Replace('@', '-');
            string file = System.IO.Path.GetFileName(cols[1]);
            models.Add(new RealModel(System.IO.Path.GetFileNameWithoutExtension(file), cols[0], System.IO.Path.Combine(CacheDir, folder, file), cols[2]));
        }

        return models.ToArray();
    }
}
