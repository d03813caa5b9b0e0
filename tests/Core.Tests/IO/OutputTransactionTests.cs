using System.Diagnostics;
using TorchToNnef.Errors;
using TorchToNnef.IO;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Core.Tests.IO;

public class OutputTransactionTests
{
    private static readonly OutputKind Text = OutputKind.File("a text output", p => File.ReadAllText(p).StartsWith("ours:", StringComparison.Ordinal) ? null : "it is not ours");

    private static readonly OutputKind Folder = OutputKind.Directory("an output folder", p => File.Exists(Path.Combine(p, "ours")) ? null : "it has no marker");

    private static void WriteText(OutputTarget target, string text)
    {
        using FileStream s = target.CreateFile();
        s.Write(System.Text.Encoding.UTF8.GetBytes(text));
    }

    private static string[] Entries(string dir) =>
        [.. Directory.EnumerateFileSystemEntries(dir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }).Select(e => Path.GetRelativePath(dir, e)).Order(StringComparer.Ordinal)];

    [Fact]
    public void OutputsAppearOnlyOnCommitAndDisposeWithoutCommitLeavesNothing()
    {
        using var tmp = new TempDir();
        using (var tx = new OutputTransaction())
        {
            WriteText(tx.AddOutput(tmp.File("a/b/one.txt"), Text), "ours: 1");
            OutputTarget folder = tx.AddOutput(tmp.File("a/dir"), Folder);
            using (FileStream s = folder.CreateFileIn("sub/x.bin"))
            {
                s.WriteByte(1);
            }

            Assert.All(Entries(tmp.Path), e => Assert.True(e is "a" or "a/b" || Path.GetFileName(e).StartsWith(TempNames.Prefix, StringComparison.Ordinal) || e.Contains("/.t2n-tmp-", StringComparison.Ordinal), e));
        }

        Assert.Empty(Entries(tmp.Path));

        using (var tx = new OutputTransaction())
        {
            WriteText(tx.AddOutput(tmp.File("a/b/one.txt"), Text), "ours: 1");
            OutputTarget folder = tx.AddOutput(tmp.File("a/dir"), Folder);
            folder.CreateFileIn("ours").Dispose();
            tx.Commit();
        }

        Assert.Equal(["a", "a/b", "a/b/one.txt", "a/dir", "a/dir/ours"], Entries(tmp.Path));
    }

    [Fact]
    public void OverwriteReplacesOnlyWhatItRecognises()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("mine.txt"), "ours: old");
        File.WriteAllText(tmp.File("theirs.txt"), "precious");
        using (var tx = new OutputTransaction())
        {
            Assert.Equal(OutputRefusal.Exists, Assert.Throws<OutputRefusedException>(() => tx.AddOutput(tmp.File("mine.txt"), Text)).Reason);
        }

        using (var tx = new OutputTransaction(new OutputOptions { Overwrite = true }))
        {
            var e = Assert.Throws<OutputRefusedException>(() => tx.AddOutput(tmp.File("theirs.txt"), Text));
            Assert.Equal(OutputRefusal.NotOurs, e.Reason);
            Assert.Contains("it is not ours", e.Message);
            Assert.Equal(OutputRefusal.NotOurs, Assert.Throws<OutputRefusedException>(() => tx.AddOutput(tmp.File("mine.txt"), Folder)).Reason);
            OutputTarget t = tx.AddOutput(tmp.File("mine.txt"), Text);
            Assert.True(t.Replaces);
            WriteText(t, "ours: new");
            tx.Commit();
        }

        Assert.Equal("ours: new", File.ReadAllText(tmp.File("mine.txt")));
        Assert.Equal("precious", File.ReadAllText(tmp.File("theirs.txt")));
    }

    [Fact]
    public void AReplacedFolderIsSwappedWholeAndNothingIsLeftAside()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp.File("out"));
        File.WriteAllText(tmp.File("out/ours"), "old");
        File.WriteAllText(tmp.File("out/stale"), "old");
        using (var tx = new OutputTransaction(new OutputOptions { Overwrite = true }))
        {
            tx.AddOutput(tmp.File("out"), Folder).CreateFileIn("ours").Dispose();
            tx.Commit();
        }

        Assert.Equal(["out", "out/ours"], Entries(tmp.Path));
    }

    [Fact]
    public void InputsAreNeverOutputsHoweverThePathIsSpelled()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp.File("in/deep"));
        File.WriteAllText(tmp.File("in/deep/model.bin"), "x");
        Directory.CreateSymbolicLink(tmp.File("link"), tmp.File("in/deep"));
        using var tx = new OutputTransaction(new OutputOptions { Overwrite = true });
        tx.AddInput(tmp.File("in"));
        tx.AddInput(tmp.File("link/model.bin"));
        foreach (string path in new[] { "in", "in/x.txt", "link/x.txt", "link/../x.txt", "in/deep/../../in/y", "link/model.bin" })
        {
            Assert.Equal(OutputRefusal.Input, Assert.Throws<OutputRefusedException>(() => tx.AddOutput(tmp.File(path), Text)).Reason);
        }

        // A folder output replaced whole must not hold an input; a file next to the input is fine.
        Assert.Equal(OutputRefusal.Input, Assert.Throws<OutputRefusedException>(() => tx.AddOutput(tmp.Path, Folder)).Reason);
        tx.AddOutput(tmp.File("beside.txt"), Text);

        // Declaring an input after an output checks the same rules.
        using var tx2 = new OutputTransaction();
        tx2.AddOutput(tmp.File("in/new.txt"), Text);
        Assert.Equal(OutputRefusal.Input, Assert.Throws<OutputRefusedException>(() => tx2.AddInput(tmp.File("link/../.."))).Reason);
    }

    [Fact]
    public void TwoOutputsNeverShareAPathEvenByCase()
    {
        using var tmp = new TempDir();
        using var tx = new OutputTransaction();
        tx.AddOutput(tmp.File("Weight.dat"), Text);
        Assert.Equal(OutputRefusal.OtherOutput, Assert.Throws<OutputRefusedException>(() => tx.AddOutput(tmp.File("weight.DAT"), Text)).Reason);
        tx.AddOutput(tmp.File("dir"), Folder);
        Assert.Equal(OutputRefusal.OtherOutput, Assert.Throws<OutputRefusedException>(() => tx.AddOutput(tmp.File("dir/x"), Text)).Reason);
    }

    [Fact]
    public void UnusablePathsAreRefused()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("file"), "x");
        File.CreateSymbolicLink(tmp.File("link.txt"), tmp.File("file"));
        using var tx = new OutputTransaction(new OutputOptions { Overwrite = true });
        Assert.Equal(OutputRefusal.Unusable, Assert.Throws<OutputRefusedException>(() => tx.AddOutput("/", Folder)).Reason);
        Assert.Equal(OutputRefusal.Unusable, Assert.Throws<OutputRefusedException>(() => tx.AddOutput(tmp.File("link.txt"), OutputKind.AnyFile)).Reason);
        Assert.Equal(OutputRefusal.Unusable, Assert.Throws<OutputRefusedException>(() => tx.AddOutput(tmp.File("file/sub.txt"), Text)).Reason);
        Assert.Equal(OutputRefusal.Unusable, Assert.Throws<OutputRefusedException>(() => tx.AddOutput(Directory.GetCurrentDirectory(), Folder)).Reason);
        Assert.Equal(OutputRefusal.Unusable, Assert.Throws<OutputRefusedException>(() => tx.AddOutput(Path.GetDirectoryName(Directory.GetCurrentDirectory())!, Folder)).Reason);
        Assert.Equal("x", File.ReadAllText(tmp.File("file")));
    }

    [Fact]
    public void CancellationStopsWritesAndTheCommitAndRemovesTheTemporary()
    {
        using var tmp = new TempDir();
        using var cts = new CancellationTokenSource();
        using (var tx = new OutputTransaction(null, cts.Token))
        {
            OutputTarget t = tx.AddOutput(tmp.File("o.txt"), Text);
            using FileStream s = t.CreateFile();
            s.Write("ours: part"u8);
            cts.Cancel();
            Assert.Throws<OperationCanceledException>(() => s.Write("more"u8));
            Assert.Throws<OperationCanceledException>(() => tx.Commit());
        }

        Assert.Empty(Entries(tmp.Path));
    }

    [Fact]
    public void AbortAllDiscardsEveryOpenTransactionOfTheProcess()
    {
        using var tmp = new TempDir();
        using var tx = new OutputTransaction();
        OutputTarget t = tx.AddOutput(tmp.File("o.txt"), Text);
        using FileStream s = t.CreateFile();
        s.Write("ours: x"u8);
        Assert.Single(Entries(tmp.Path));
        OutputTransaction.AbortAll();
        Assert.Empty(Entries(tmp.Path));
        Assert.Throws<OperationCanceledException>(() => s.Write("y"u8));
        Assert.Throws<OperationCanceledException>(() => tx.Commit());
    }

    [Fact]
    public void AFailedCommitRemovesTheNewOutputsItAlreadyMoved()
    {
        using var tmp = new TempDir();
        using var tx = new OutputTransaction();
        WriteText(tx.AddOutput(tmp.File("first.txt"), Text), "ours: 1");
        WriteText(tx.AddOutput(tmp.File("second.txt"), Text), "ours: 2");
        Directory.CreateDirectory(tmp.File("second.txt")); // appears after the checks: the second move fails
        var e = Assert.Throws<TorchToNnef.Errors.OutputWriteException>(() => tx.Commit());
        Assert.IsAssignableFrom<IOException>(e.InnerException);
        Assert.StartsWith(tmp.File("second.txt") + ": cannot be written: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(TempNames.Prefix, e.Message, StringComparison.Ordinal);
        Assert.Equal(["second.txt"], Entries(tmp.Path));
    }

    [Fact]
    public void StaleTemporariesOfDeadProcessesAreRemovedAndSetAsideOutputsReported()
    {
        using var tmp = new TempDir();
        int dead;
        using (Process p = Process.Start("true")!)
        {
            p.WaitForExit();
            dead = p.Id;
        }

        Assert.False(TempNames.IsProcessAlive(dead));
        File.WriteAllText(tmp.File($".t2n-tmp-{dead}-0123456789abcdef"), "partial");
        Directory.CreateDirectory(tmp.File($".t2n-tmp-{dead}-fedcba9876543210/sub"));
        File.WriteAllText(tmp.File($".t2n-tmp-{Environment.ProcessId}-00000000000000aa"), "not claimed by this process");
        Directory.CreateDirectory(tmp.File($".t2n-old-{dead}-00000000000000bb"));
        File.WriteAllText(tmp.File($".t2n-tmp-1-00000000000000cc"), "process 1 is alive");
        File.WriteAllText(tmp.File(".t2n-tmp-notapid-0123456789abcdef"), "not our name");
        var notices = new List<string>();
        using (var tx = new OutputTransaction(new OutputOptions { Notice = notices.Add }))
        {
            tx.AddOutput(tmp.File("o.txt"), Text);
        }

        Assert.Equal(
            [$".t2n-old-{dead}-00000000000000bb", ".t2n-tmp-1-00000000000000cc", ".t2n-tmp-notapid-0123456789abcdef"],
            Entries(tmp.Path));
        Assert.Equal(4, notices.Count);
        Assert.Single(notices, n => n.Contains("set aside", StringComparison.Ordinal));
        Assert.Equal(3, notices.Count(n => n.StartsWith("removed ", StringComparison.Ordinal)));
    }

    [Fact]
    public void TempNamesParseOnlyTheirOwnShape()
    {
        string t = TempNames.NewTemporary();
        Assert.True(TempNames.TryParse(t, out bool aside, out int pid));
        Assert.False(aside);
        Assert.Equal(Environment.ProcessId, pid);
        Assert.True(TempNames.TryParse(TempNames.NewAside(), out aside, out _));
        Assert.True(aside);
        foreach (string other in new[] { ".t2n-tmp-12-abc", ".t2n-tmp--0123456789abcdef", ".t2n-tmp-0-0123456789abcdef", ".t2n-xyz-12-0123456789abcdef", "t2n-tmp-12-0123456789abcdef", ".t2n-tmp-12-0123456789ABCDEF", ".model.tmp" })
        {
            Assert.False(TempNames.TryParse(other, out _, out _), other);
        }
    }

    [Fact]
    public void TempNamesAreDistinctAndEveryHexDigitVaries()
    {
        // 64 random bits per name: no repeats among a thousand, and no digit position stuck (a GUID's version or
        // variant bits taken by mistake would pin one).
        string[] suffixes = [.. Enumerable.Range(0, 1000).Select(_ => TempNames.NewTemporary()).Select(n => n[(n.LastIndexOf('-') + 1)..])];
        Assert.Equal(suffixes.Length, suffixes.Distinct(StringComparer.Ordinal).Count());
        Assert.All(suffixes, s => Assert.Equal(16, s.Length));
        for (int i = 0; i < 16; i++)
        {
            Assert.True(suffixes.Select(s => s[i]).Distinct().Count() >= 8, $"hex digit {i} takes fewer than 8 values in 1000 names");
        }
    }

    [Fact]
    public void RealPathFollowsLinksBeforeDotDotAsTheKernelDoes()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp.File("a/b"));
        Directory.CreateSymbolicLink(tmp.File("l"), tmp.File("a/b"));
        Directory.CreateSymbolicLink(tmp.File("rel"), "a/b");
        Assert.Equal(tmp.File("a"), RealPath.Resolve(tmp.File("l/..")));
        Assert.Equal(tmp.File("a/b/new/x"), RealPath.Resolve(tmp.File("rel/new/./x")));
        Assert.Equal(tmp.File("a/b"), RealPath.Resolve(tmp.File("l/../b/")));
        File.CreateSymbolicLink(tmp.File("loop1"), tmp.File("loop2"));
        File.CreateSymbolicLink(tmp.File("loop2"), tmp.File("loop1"));
        Assert.Throws<IOException>(() => RealPath.Resolve(tmp.File("loop1")));
    }
}
