using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

/// <summary>The golden NNEF exports: every <c>.nnef.tgz</c> and its extracted folder.</summary>
internal static class GoldenArchives
{
    /// <summary>Every archive file under the golden folder: exactly the ones the golden manifests list (22).</summary>
    public static IReadOnlyList<string> Tgz()
    {
        List<string> all = [.. Directory.EnumerateFiles(Golden.Dir, "*.nnef.tgz", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];
        IReadOnlyList<string> listed = GoldenManifest.FilesEndingWith(".nnef.tgz");
        Assert.NotEmpty(listed);
        Assert.Equal(listed, all.Select(GoldenManifest.Relative).Order(StringComparer.Ordinal));
        return all;
    }

    /// <summary>The extracted folder of an archive: <c>nnef/</c> next to <c>model.nnef.tgz</c>, <c>khronos/</c> next to <c>khronos.nnef.tgz</c>.</summary>
    public static string ExtractedDir(string tgz)
    {
        string dir = Path.GetDirectoryName(tgz)!;
        string name = Path.GetFileName(tgz) == "khronos.nnef.tgz" ? "khronos" : "nnef";
        string extracted = Path.Combine(dir, name);
        Assert.True(File.Exists(Path.Combine(extracted, "graph.nnef")), $"no extracted graph.nnef next to {tgz}");
        return extracted;
    }

    /// <summary>Path relative to the golden folder, for test names.</summary>
    public static string Rel(string path) => Path.GetRelativePath(Golden.Dir, path);

    /// <summary>Theory data: each archive as a golden-relative path.</summary>
    public static TheoryData<string> All()
    {
        var data = new TheoryData<string>();
        foreach (string t in Tgz())
        {
            data.Add(Rel(t));
        }

        return data;
    }
}
