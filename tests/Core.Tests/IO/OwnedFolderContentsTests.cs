using TorchToNnef.IO;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Core.Tests.IO;

public class OwnedFolderContentsTests
{
    // A writer that makes "marker", "*.bin" files and a "parts" folder.
    private static string? WhyNot(string folder) => OwnedFolderContents.WhyNotOwned(
        folder,
        (relative, isFolder) => (isFolder ? relative == "parts" : relative == "marker" || relative.EndsWith(".bin", StringComparison.Ordinal))
            ? null
            : $"holds '{relative}'",
        markerFile: "marker",
        markerMissing: "no marker");

    private static TempDir Folder(params string[] files)
    {
        var tmp = new TempDir();
        foreach (string file in files)
        {
            string path = tmp.File(file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, [1]);
        }

        return tmp;
    }

    [Fact]
    public void AFolderOfOurFilesWithTheMarkerIsOwned()
    {
        using TempDir tmp = Folder("marker", "a.bin", "parts/b.bin");
        Assert.Null(WhyNot(tmp.Path));
    }

    [Fact]
    public void TheMarkerMustBeAFileAtItsPlace()
    {
        using TempDir missing = Folder("a.bin", "parts/b.bin");
        Assert.Equal("no marker", WhyNot(missing.Path));

        // A marker in a sub-folder is not the marker.
        using TempDir nested = Folder("a.bin", "parts/marker");
        Assert.Equal("holds 'parts/marker'", WhyNot(nested.Path));
    }

    [Fact]
    public void AForeignFileOrFolderAnywhereIsNamed()
    {
        using TempDir file = Folder("marker", "parts/notes.txt");
        Assert.Equal("holds 'parts/notes.txt'", WhyNot(file.Path));

        using TempDir folder = Folder("marker");
        Directory.CreateDirectory(folder.File("photos"));
        Assert.Equal("holds 'photos'", WhyNot(folder.Path));
    }

    [Fact]
    public void ASymbolicLinkIsNeverOwnedEvenToAnAcceptedName()
    {
        using TempDir tmp = Folder("marker");
        using TempDir elsewhere = Folder("x.bin");
        File.CreateSymbolicLink(tmp.File("y.bin"), elsewhere.File("x.bin"));
        Assert.Equal("holds the symbolic link 'y.bin'", WhyNot(tmp.Path));
    }
}
