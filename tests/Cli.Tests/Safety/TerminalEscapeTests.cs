using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests.Safety;

/// <summary>
/// Names read from files never reach the terminal raw: ESC, CR, LF, NUL, DEL, C1 controls and bidirectional
/// overrides are printed escaped by every command, in results, warnings and errors.
/// </summary>
public class TerminalEscapeTests
{
    private static readonly string[] HostileNames =
    [
        "clear\u001b[2J\u001b[Hscreen",
        "carriage\rreturn",
        "fake\nok line",
        "nul\0byte",
        "del\u007fc1\u009bcsi",
        "bidi\u202Eevil",
    ];

    [Fact]
    public void InspectEscapesControlCharactersInNames()
    {
        using var tmp = new TempDir();
        string input = tmp.File("m.safetensors");
        SafetyFixture.WriteSafetensors(input, HostileNames);
        (int code, string stdout, string stderr) = CliRunner.Run("inspect", input);
        Assert.True(code == 0, stderr);
        AssertNoRawControls(stdout);
        Assert.Contains(@"clear\x1b[2J\x1b[Hscreen", stdout);
        Assert.Contains(@"carriage\rreturn", stdout);
        Assert.Contains(@"fake\nok line", stdout);
        Assert.Contains(@"nul\0byte", stdout);
        Assert.Contains(@"del\x7fc1\x9bcsi", stdout);
        Assert.Contains(@"bidi\u202eevil", stdout);

        // Every name is on its own line of the tensor table: no injected line breaks.
        Assert.Equal(HostileNames.Length, stdout.Split('\n').Count(l => l.Contains(" f32 ", StringComparison.Ordinal) && l.Contains("[2, 32]", StringComparison.Ordinal)));
    }

    [Fact]
    public void InspectJsonEscapesControlCharactersAsJsonAndKeepsTheNames()
    {
        using var tmp = new TempDir();
        string input = tmp.File("m.safetensors");
        SafetyFixture.WriteSafetensors(input, HostileNames);
        (int code, string stdout, string stderr) = CliRunner.Run("inspect", input, "--json");
        Assert.True(code == 0, stderr);
        AssertNoRawControls(stdout);
        using var doc = System.Text.Json.JsonDocument.Parse(stdout);
        Assert.Equal(
            HostileNames.Order(StringComparer.Ordinal),
            doc.RootElement.GetProperty("tensors").EnumerateArray().Select(t => t.GetProperty("name").GetString()!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void InspectOfAnNnefModelEscapesPropertyValuesAndLabels()
    {
        using var tmp = new TempDir();
        string model = tmp.File("m");
        Ir.Graph g = SafetyFixture.LinearChain(1, 32);
        g.SetProperty("note", "evil\u001b]0;title\u0007");
        Formats.Nnef.NnefArchive.Write(g, model);
        (int code, string stdout, string stderr) = CliRunner.Run("inspect", model);
        Assert.True(code == 0, stderr);
        AssertNoRawControls(stdout);
        Assert.Contains(@"evil\x1b]0;title\x07", stdout);
    }

    [Fact]
    public void QuantizeEscapesNamesInReportsWarningsAndErrors()
    {
        using var tmp = new TempDir();
        string input = tmp.File("m.safetensors");
        SafetyFixture.WriteSafetensors(input, HostileNames);
        (int code, string stdout, string stderr) = CliRunner.Run("quantize", input, "-o", tmp.File("out"), "--report");
        Assert.True(code == 0, stderr);
        AssertNoRawControls(stdout);
        AssertNoRawControls(stderr);
        Assert.Contains(@"clear\x1b[2J", stdout);

        // An ineligible tensor named with controls: the error names it escaped.
        string bad = tmp.File("bad.safetensors");
        using (var t = SafetyFixture.Random(Tensors.DType.F32, new Tensors.Shape(3), 1))
        {
            Formats.Safetensors.SafetensorsWriter.Write(bad, [("bias\u001b[31m\r\n", t)]);
        }

        (code, stdout, stderr) = CliRunner.Run("quantize", bad, "-o", tmp.File("out2"), "--strict");
        Assert.Equal(CliApp.InputError, code);
        AssertNoRawControls(stderr);
        Assert.Contains(@"bias\x1b[31m\r\n", stderr);
    }

    [Fact]
    public void ErrorMessagesEscapePathsAndNames()
    {
        using var tmp = new TempDir();
        string missing = tmp.File("no\u001b[31msuch\nfile.nnef.tgz");
        foreach (string[] args in new[]
        {
            new[] { "inspect", missing },
            ["compress", "-i", missing, "-o", tmp.File("o"), "-c", "min_max_q4_0"],
            ["verify", missing, "--io", missing],
            ["quantize", missing, "-o", tmp.File("o")],
        })
        {
            (int code, string stdout, string stderr) = CliRunner.Run(args);
            Assert.NotEqual(0, code);
            AssertNoRawControls(stdout);
            AssertNoRawControls(stderr);
            Assert.Contains(@"no\x1b[31msuch\nfile", stderr);
        }
    }

    /// <summary>Only line feeds that end lines; no other control or bidi-override character.</summary>
    internal static void AssertNoRawControls(string text)
    {
        foreach (string line in text.Split('\n'))
        {
            foreach (char c in line)
            {
                Assert.False(char.IsControl(c) || c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069', $"raw U+{(int)c:X4} in: {line}");
            }
        }
    }
}
