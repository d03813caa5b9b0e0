using System.Diagnostics;
using System.Text.RegularExpressions;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Cli.Tests;

/// <summary>
/// Publishes <c>t2n</c> as a Native AOT binary, requires a warning-free publish, then checks that the binary prints
/// exactly what the in-process CLI prints for the sample. The sources are copied to a temporary folder first, so
/// the publish neither races with nor overwrites the assemblies the other test projects are running from.
/// </summary>
public partial class NativeAotPublishTests(ITestOutputHelper log)
{
    [Fact]
    public void PublishedBinaryHasNoWarningsAndInspectsTheSample()
    {
        using var dir = new TempDir();
        string root = dir.File("repo");
        CopySources(Golden.RepoRoot, root);
        string output = dir.File("publish");

        var watch = Stopwatch.StartNew();
        (int code, string publishLog) = Run("dotnet", root, TimeSpan.FromMinutes(10),
            "publish", Path.Combine(root, "src", "Cli", "TorchToNnef.Cli.csproj"), "-c", "Release", "-r", "linux-x64",
            "-p:PublishAot=true", "-o", output, "--nologo");
        log.WriteLine($"publish took {watch.Elapsed.TotalSeconds:F0} s");
        Assert.True(code == 0, publishLog);
        string[] warnings = WarningLine().Matches(publishLog).Select(m => m.Value).ToArray();
        Assert.True(warnings.Length == 0, "publish warnings:\n" + string.Join('\n', warnings));

        string binary = Path.Combine(output, "t2n");
        Assert.True(File.Exists(binary), $"no binary at {binary}");
        // The README's publish command leaves one file: no .pdb, .xml, .dbg or satellite folders beside the binary.
        Assert.Equal(["t2n"], Directory.EnumerateFileSystemEntries(output).Select(Path.GetFileName));
        log.WriteLine($"t2n binary: {new FileInfo(binary).Length:N0} bytes");

        string sample = Path.Combine(Golden.RepoRoot, "samples", "tiny-llama");
        // The ONNX loader (generated protobuf code) under AOT: inspecting a model exercises parsing and tensor views.
        string onnx = Golden.File("export_cnn_f32", "model.onnx");
        // --version differs by design between the binary and the test host (runtime, and the kernel the AOT baseline allows).
        (int versionCode, string version) = Run(binary, Golden.RepoRoot, TimeSpan.FromMinutes(1), "--version");
        log.WriteLine(version);
        Assert.Equal(0, versionCode);
        Assert.StartsWith($"t2n {CliApp.Version}", version, StringComparison.Ordinal);
        Assert.Contains("Native AOT", version, StringComparison.Ordinal);
        Assert.Contains("q40 kernel: ", version, StringComparison.Ordinal);
        // Completion under AOT: the suggest directive (a RootCommand feature) and the script.
        foreach (string[] args in new[] { ["inspect", sample], ["inspect", sample, "--json"], new[] { "inspect", onnx, "--json" }, ["quantize", "--help"], ["[suggest:12]", "compress -c "], ["completions", "bash"] })
        {
            (int binCode, string binOut) = Run(binary, Golden.RepoRoot, TimeSpan.FromMinutes(1), args);
            (int inCode, string inOut, string inErr) = CliRunner.Run(args);
            Assert.Equal(inCode, binCode);
            Assert.Equal(inOut + inErr, binOut);
        }

        // The evaluator under AOT (generic math over f16, Q4_0 and 8-bit paths) reports what the JIT build reports.
        foreach (string[] args in VerifyRuns())
        {
            (int binCode, string binOut) = Run(binary, Golden.RepoRoot, TimeSpan.FromMinutes(1), args);
            (int inCode, string inOut, string inErr) = CliRunner.Run(args);
            Assert.Equal(0, binCode);
            Assert.Equal(inCode, binCode);
            Assert.Equal(WithoutTiming(inOut + inErr), WithoutTiming(binOut));
        }

        // export-llm's start runs in a no-GC region that must hold through the export: an allocation the region does
        // not cover (a pinned-heap buffer did) makes the runtime collect, compacting the young heap into fresh pages.
        string export = dir.File("export");
        (int exportCode, string exportOut) = Run(binary, Golden.RepoRoot, TimeSpan.FromMinutes(2), "export-llm", "-d", sample, "-e", export, "-nv", "--verbose");
        Assert.True(exportCode == 0, exportOut);
        Assert.Contains("0 garbage collection(s) since the start", exportOut, StringComparison.Ordinal);

        (int badCode, string badOut) = Run(binary, Golden.RepoRoot, TimeSpan.FromMinutes(1), "inspect", Path.Combine(output, "t2n"));
        Assert.Equal(CliApp.InputError, badCode);
        Assert.StartsWith("t2n inspect: error: ", badOut, StringComparison.Ordinal);
    }

    private static IEnumerable<string[]> VerifyRuns()
    {
        string llm = Golden.File("llm", "qwen2", "export_f16_f32attn_min_max_q4_0_all");
        yield return ["verify", Path.Combine(llm, "model", "model.nnef.tgz"), "--io", Path.Combine(llm, "tests", "prompt_io.npz")];
        string ptq = Golden.File("export_ptq_conv1d_q8");
        yield return ["verify", Path.Combine(ptq, "nnef"), "--input", "input=" + Path.Combine(ptq, "input_input.npy"), "--output", "output=" + Path.Combine(ptq, "output_output.npy"), "-t", "exact"];
    }

    private static string WithoutTiming(string text) =>
        string.Join('\n', text.ReplaceLineEndings("\n").Split('\n').Where(l => !l.StartsWith("evaluated in", StringComparison.Ordinal)));

    [GeneratedRegex(@"^.*:\s*warning\s+[A-Z]+\d+.*$", RegexOptions.Multiline)]
    private static partial Regex WarningLine();

    // Only what a build needs: the shared props, global.json and src/ (without bin/obj).
    private static void CopySources(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig" })
        {
            if (File.Exists(Path.Combine(from, file)))
            {
                File.Copy(Path.Combine(from, file), Path.Combine(to, file));
            }
        }

        string src = Path.Combine(from, "src");
        foreach (string file in Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(src, file);
            string[] parts = relative.Split(Path.DirectorySeparatorChar);
            if (parts.Contains("bin") || parts.Contains("obj"))
            {
                continue;
            }

            string target = Path.Combine(to, "src", relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static (int Code, string Output) Run(string exe, string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(exe)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{exe} {string.Join(' ', args)} did not finish within {timeout}");
        }

        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
