using TorchToNnef.Errors;
using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.HuggingFace;

public class HfHubCacheTests
{
    private const string Revision = "0123456789abcdef0123456789abcdef01234567";

    [Fact]
    public void CacheDirectoryFollowsHuggingFaceHubPrecedence()
    {
        var env = new Dictionary<string, string?> { ["HOME"] = "/home/u" };
        Assert.Equal("/home/u/.cache/huggingface/hub", HfHubCache.CacheDirectory(Lookup(env)));
        env["XDG_CACHE_HOME"] = "/xdg";
        Assert.Equal("/xdg/huggingface/hub", HfHubCache.CacheDirectory(Lookup(env)));
        env["HF_HOME"] = "~/hf";
        Assert.Equal("/home/u/hf/hub", HfHubCache.CacheDirectory(Lookup(env)));
        env["HUGGINGFACE_HUB_CACHE"] = "/legacy";
        Assert.Equal("/legacy", HfHubCache.CacheDirectory(Lookup(env)));
        env["HF_HUB_CACHE"] = "/hub";
        Assert.Equal("/hub", HfHubCache.CacheDirectory(Lookup(env)));
        env["HF_HUB_CACHE"] = string.Empty; // empty means unset, as in Python's os.getenv(...) or default
        Assert.Equal("/legacy", HfHubCache.CacheDirectory(Lookup(env)));
    }

    [Fact]
    public void SnapshotIsTheRevisionRefsMainNames()
    {
        using var dir = new TempDir();
        string repo = Path.Combine(dir.Path, "models--meta-llama--Llama-3.2-1B");
        Directory.CreateDirectory(Path.Combine(repo, "snapshots", Revision));
        Directory.CreateDirectory(Path.Combine(repo, "snapshots", "fedcba9876543210fedcba9876543210fedcba98"));
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), Revision + "\n");
        Assert.Equal(Path.Combine(repo, "snapshots", Revision), HfHubCache.ResolveSnapshot("meta-llama/Llama-3.2-1B", HubCache(dir)));
    }

    [Fact]
    public void WithoutRefsMainTheOnlySnapshotIsUsedAndSeveralAreAnError()
    {
        using var dir = new TempDir();
        string snapshots = Path.Combine(dir.Path, "models--gpt2", "snapshots");
        Directory.CreateDirectory(Path.Combine(snapshots, Revision));
        Assert.Equal(Path.Combine(snapshots, Revision), HfHubCache.ResolveSnapshot("gpt2", HubCache(dir)));
        Directory.CreateDirectory(Path.Combine(snapshots, "other"));
        var e = Assert.Throws<InvalidInputFileException>(() => HfHubCache.ResolveSnapshot("gpt2", HubCache(dir)));
        Assert.Contains("no refs/main and 2 snapshots", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AModelNotInTheCacheSaysWhereItLooked()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<InvalidInputFileException>(() => HfHubCache.ResolveSnapshot("org/absent", HubCache(dir)));
        Assert.Contains("'org/absent' is not in the Hugging Face cache " + dir.Path, e.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(dir.Path, "models--org--absent", "snapshots"), e.Message, StringComparison.Ordinal);
        Assert.Contains("HF_HUB_CACHE", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARefToAMissingOrMalformedRevisionIsAnError()
    {
        using var dir = new TempDir();
        string repo = Path.Combine(dir.Path, "models--org--m");
        Directory.CreateDirectory(Path.Combine(repo, "snapshots"));
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), Revision);
        Assert.Contains("does not exist", Assert.Throws<InvalidInputFileException>(() => HfHubCache.ResolveSnapshot("org/m", HubCache(dir))).Message, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(repo, "refs", "main"), "../../../etc");
        Assert.Contains("is not a revision hash", Assert.Throws<InvalidInputFileException>(() => HfHubCache.ResolveSnapshot("org/m", HubCache(dir))).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b/c")]
    [InlineData("../x")]
    [InlineData("org/..")]
    [InlineData("org/na me")]
    [InlineData("org--x/y")]
    [InlineData("/abs")]
    public void SlugsThatAreNotModelIdsAreRejected(string slug)
    {
        using var dir = new TempDir();
        Assert.Throws<ArgumentException>(() => HfHubCache.ResolveSnapshot(slug, HubCache(dir)));
    }

    [Fact]
    public void ACachedModelWithSymlinkedBlobsOpens()
    {
        // huggingface_hub stores files as blobs and links them from the snapshot.
        using var dir = new TempDir();
        string repo = Path.Combine(dir.Path, "models--t2n--llama");
        string blobs = Path.Combine(repo, "blobs");
        string snapshot = Path.Combine(repo, "snapshots", Revision);
        Directory.CreateDirectory(blobs);
        Directory.CreateDirectory(snapshot);
        Directory.CreateDirectory(Path.Combine(repo, "refs"));
        File.WriteAllText(Path.Combine(repo, "refs", "main"), Revision);
        foreach (string file in Directory.GetFiles(Golden.File("llm", "llama", "hf")))
        {
            string blob = Path.Combine(blobs, Guid.NewGuid().ToString("N"));
            File.Copy(file, blob);
            File.CreateSymbolicLink(Path.Combine(snapshot, Path.GetFileName(file)), Path.Combine("..", "..", "blobs", Path.GetFileName(blob)));
        }

        HfModelDirectory model = HfModelDirectory.FromCache("t2n/llama", HubCache(dir));
        Assert.Equal(snapshot, model.ModelDir);
        Assert.Equal("llama", DecoderConfig.Read(model.ConfigPath).ModelType);
        Assert.Equal(Path.Combine(snapshot, "generation_config.json"), model.GenerationConfigPath);
        Assert.Equal(["tokenizer.json", "tokenizer_config.json"], model.TokenizerFiles.Select(Path.GetFileName));
        using var weights = TorchToNnef.Formats.Safetensors.SafetensorsCheckpoint.Open(model.ModelDir);
        Assert.Equal(512 * 64, weights.GetEntry("model.embed_tokens.weight").ElementCount);
    }

    private static Func<string, string?> HubCache(TempDir dir) => name => name == "HF_HUB_CACHE" ? dir.Path : null;

    private static Func<string, string?> Lookup(Dictionary<string, string?> env) => name => env.GetValueOrDefault(name);
}
