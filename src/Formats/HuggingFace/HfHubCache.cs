using TorchToNnef.Errors;
using TorchToNnef.IO;

namespace TorchToNnef.Formats.HuggingFace;

/// <summary>
/// Finds a model already downloaded by the Hugging Face tools, offline, the way <c>huggingface_hub</c> lays out its
/// cache: <c>&lt;cache&gt;/models--org--name/snapshots/&lt;revision&gt;/</c>, the revision read from
/// <c>refs/main</c>. The cache is <c>HF_HUB_CACHE</c> (or the older <c>HUGGINGFACE_HUB_CACHE</c>), else
/// <c>HF_HOME/hub</c>, else <c>XDG_CACHE_HOME/huggingface/hub</c>, else <c>~/.cache/huggingface/hub</c>.
/// Nothing is downloaded.
/// </summary>
public static class HfHubCache
{
    // refs/main holds one commit hash; anything much larger is not a revision file.
    private const long MaxRefBytes = 4096;

    /// <summary>The cache directory the environment selects.</summary>
    /// <param name="environment">Environment lookup (tests pass their own); the process environment when null.</param>
    public static string CacheDirectory(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        if (NonEmpty(environment("HF_HUB_CACHE")) is { } hub)
        {
            return Expand(hub, environment);
        }

        if (NonEmpty(environment("HUGGINGFACE_HUB_CACHE")) is { } legacy)
        {
            return Expand(legacy, environment);
        }

        if (NonEmpty(environment("HF_HOME")) is { } home)
        {
            return Path.Combine(Expand(home, environment), "hub");
        }

        string cacheRoot = NonEmpty(environment("XDG_CACHE_HOME")) is { } xdg
            ? Expand(xdg, environment)
            : Path.Combine(Home(environment), ".cache");
        return Path.Combine(cacheRoot, "huggingface", "hub");
    }

    /// <summary>
    /// The snapshot directory of <paramref name="slug"/> (<c>org/name</c>, or a bare <c>name</c>) at the revision
    /// <c>refs/main</c> names (or the only snapshot when there is no <c>refs/main</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The slug is not a valid repository id.</exception>
    /// <exception cref="InvalidInputFileException">The model is not in the cache; the message says where it looked.</exception>
    public static string ResolveSnapshot(string slug, Func<string, string?>? environment = null)
    {
        ValidateSlug(slug);
        string cache = CacheDirectory(environment);
        string repo = Path.Combine(cache, "models--" + slug.Replace("/", "--", StringComparison.Ordinal));
        string snapshots = Path.Combine(repo, "snapshots");
        if (!Directory.Exists(snapshots))
        {
            throw new InvalidInputFileException(repo, null,
                $"model '{slug}' is not in the Hugging Face cache {cache} (looked for {snapshots}; set HF_HUB_CACHE or HF_HOME, " +
                "or download it first, e.g. `hf download " + slug + "`; nothing is downloaded here)");
        }

        string refFile = Path.Combine(repo, "refs", "main");
        string revision;
        if (File.Exists(refFile))
        {
            revision = System.Text.Encoding.UTF8.GetString(InputFile.ReadAllBytes(refFile, MaxRefBytes, "revision file")).Trim();
            if (!IsRevision(revision))
            {
                throw new InvalidInputFileException(refFile, null, $"'{Truncate(revision)}' is not a revision hash");
            }
        }
        else
        {
            string[] all = Directory.GetDirectories(snapshots);
            revision = all.Length == 1
                ? Path.GetFileName(all[0])
                : throw new InvalidInputFileException(refFile, null,
                    $"model '{slug}' has no refs/main and {all.Length} snapshots in {snapshots}; cannot tell which revision to use");
        }

        string snapshot = Path.Combine(snapshots, revision);
        return Directory.Exists(snapshot)
            ? snapshot
            : throw new InvalidInputFileException(refFile, null,
                $"refs/main names revision {revision}, but {snapshot} does not exist (incomplete download?)");
    }

    /// <summary>Checks that <paramref name="slug"/> is a repository id: one or two parts of <c>[A-Za-z0-9._-]</c>, no <c>..</c>.</summary>
    /// <exception cref="ArgumentException">It is not.</exception>
    public static void ValidateSlug(string slug)
    {
        string[] parts = slug.Split('/');
        bool valid = parts.Length is 1 or 2
            && parts.All(p => p.Length is > 0 and <= 96 && p is not "." and not ".." && !p.Contains("--", StringComparison.Ordinal)
                && p.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'));
        if (!valid)
        {
            throw new ArgumentException($"'{Truncate(slug)}' is not a Hugging Face model id (expected org/name).", nameof(slug));
        }
    }

    private static bool IsRevision(string text) =>
        text.Length is > 0 and <= 64 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') && text is not "." and not "..";

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string Expand(string path, Func<string, string?> environment) =>
        path == "~" ? Home(environment)
        : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(Home(environment), path[2..])
        : path;

    private static string Home(Func<string, string?> environment) =>
        NonEmpty(environment("HOME")) ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    private static string Truncate(string text) => text.Length <= 100 ? text : text[..100] + "...";
}
