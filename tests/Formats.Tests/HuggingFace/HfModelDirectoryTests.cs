using TorchToNnef.Errors;
using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.HuggingFace;

public class HfModelDirectoryTests
{
    [Fact]
    public void AGoldenCheckpointFolderIsTheModelAndTokenizer()
    {
        string hf = Golden.File("llm", "llama", "hf");
        HfModelDirectory m = HfModelDirectory.FromLocalDirectory(hf);
        Assert.Equal(hf, m.ModelDir);
        Assert.Equal(hf, m.TokenizerDir);
        Assert.Equal(Path.Combine(hf, "config.json"), m.ConfigPath);
        Assert.Equal(["tokenizer.json", "tokenizer_config.json"], m.TokenizerFiles.Select(Path.GetFileName));
    }

    [Fact]
    public void TheUniqueSubFoldersHoldingConfigAndTokenizerAreFound()
    {
        // The reference tool's -d layout: model and tokenizer in their own sub-folders.
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("model"));
        Directory.CreateDirectory(dir.File("tokenizer"));
        Directory.CreateDirectory(dir.File(".git"));
        File.WriteAllText(dir.File(Path.Combine("model", "config.json")), "{}");
        File.WriteAllText(dir.File(Path.Combine("tokenizer", "tokenizer.json")), "{}");
        File.WriteAllText(dir.File(Path.Combine(".git", "config.json")), "{}");
        HfModelDirectory m = HfModelDirectory.FromLocalDirectory(dir.Path);
        Assert.Equal(dir.File("model"), m.ModelDir);
        Assert.Equal(dir.File("tokenizer"), m.TokenizerDir);
        Assert.Null(m.GenerationConfigPath);
    }

    [Fact]
    public void NoOrSeveralConfigsAreErrors()
    {
        using var dir = new TempDir();
        Assert.Contains("no config.json", Assert.Throws<InvalidInputFileException>(() => HfModelDirectory.FromLocalDirectory(dir.Path)).Message, StringComparison.Ordinal);
        foreach (string sub in new[] { "a", "b" })
        {
            Directory.CreateDirectory(dir.File(sub));
            File.WriteAllText(dir.File(Path.Combine(sub, "config.json")), "{}");
        }

        Assert.Contains("2 folders hold a config.json", Assert.Throws<InvalidInputFileException>(() => HfModelDirectory.FromLocalDirectory(dir.Path)).Message, StringComparison.Ordinal);
        Assert.Contains("no such directory", Assert.Throws<InvalidInputFileException>(() => HfModelDirectory.FromLocalDirectory(dir.File("absent"))).Message, StringComparison.Ordinal);
    }
}
