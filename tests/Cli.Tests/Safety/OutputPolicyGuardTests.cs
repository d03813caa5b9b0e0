using System.Text.RegularExpressions;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests.Safety;

/// <summary>
/// Keeps the output policy the only way the product writes to the file system: outside <c>src/Core/IO</c> (where
/// <c>OutputTransaction</c> and <c>AtomicFile</c> live), no source file creates, moves, deletes or opens a file for
/// writing on its own. A writer that needs a file declares it on an <c>OutputTransaction</c> and writes the stream it
/// gets; this test fails when someone bypasses that.
/// </summary>
public partial class OutputPolicyGuardTests
{
    [Fact]
    public void OnlyTheOutputPolicyTouchesTheFileSystemForWriting()
    {
        string src = Path.Combine(Golden.RepoRoot, "src");
        string allowed = Path.Combine(src, "Core", "IO") + Path.DirectorySeparatorChar;
        var offenders = new List<string>();
        foreach (string file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            if (file.StartsWith(allowed, StringComparison.Ordinal) || file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }

            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                if (WritingApi().IsMatch(lines[i]))
                {
                    offenders.Add($"{Path.GetRelativePath(Golden.RepoRoot, file)}:{i + 1}: {lines[i].Trim()}");
                }
            }
        }

        Assert.True(offenders.Count == 0, "writes that bypass OutputTransaction:\n" + string.Join('\n', offenders));
    }

    [Theory]
    [InlineData("File.WriteAllText(path, text);", true)]
    [InlineData("using var s = new FileStream(p, FileMode.Create);", true)]
    [InlineData("new FileStream(p, FileMode.Open, FileAccess.ReadWrite)", true)]
    [InlineData("Directory.Delete(dir, recursive: true);", true)]
    [InlineData("File.Move(a, b, overwrite: true);", true)]
    [InlineData("new FileInfo(p).Delete();", true)]
    [InlineData("new FileStream(p, FileMode.Open, FileAccess.Read)", false)]
    [InlineData("MemoryMappedFile.CreateFromFile(handle, null, 0, MemoryMappedFileAccess.Read)", false)]
    [InlineData("SafetensorsFile.Open(path)", false)]
    public void TheGuardRecognisesWrites(string line, bool writes)
    {
        Assert.Equal(writes, WritingApi().IsMatch(line));
    }

    [GeneratedRegex(@"\bFile\.(Create|WriteAll|AppendAll|Move|Delete|Copy|Replace|OpenWrite|CreateSymbolicLink|SetUnixFileMode)|FileMode\.(Create|CreateNew|OpenOrCreate|Append|Truncate)|FileAccess\.(Write|ReadWrite)|\bDirectory\.(Delete|Move|CreateDirectory|CreateSymbolicLink)|FileInfo\([^)]*\)\.(Delete|MoveTo|CopyTo|Create)|MemoryMappedFileAccess\.ReadWrite")]
    private static partial Regex WritingApi();
}
