using System.Reflection;
using System.Runtime.InteropServices;
using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.Cli;

/// <summary>What <c>t2n --version</c> says: version, commit, runtime and the Q4_0 kernel this process uses.</summary>
internal static class BuildInfo
{
    private static string Informational =>
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The project version, e.g. <c>0.1.0</c>.</summary>
    public static string Version => Informational.Split('+')[0];

    /// <summary>The commit the binary was built from (the SDK appends it to the informational version), or <c>unknown</c>.</summary>
    public static string Commit => Informational.Split('+') is [_, string sha, ..] && sha.Length > 0 ? sha[..Math.Min(12, sha.Length)] : "unknown";

    // A Native AOT binary has no JIT: it compiled no method at run time (the JIT has compiled Main by now).
    /// <summary>The runtime, e.g. <c>.NET 10.0.0, Native AOT, linux-x64</c>.</summary>
    public static string Runtime =>
        $"{RuntimeInformation.FrameworkDescription}, {(System.Runtime.JitInfo.GetCompiledMethodCount() > 0 ? "JIT" : "Native AOT")}, {RuntimeInformation.RuntimeIdentifier}";

    /// <summary>Writes the version lines.</summary>
    public static void Write(TextWriter output)
    {
        output.WriteLine($"t2n {Version}");
        output.WriteLine($"commit: {Commit}");
        output.WriteLine($"runtime: {Runtime}");
        output.WriteLine($"q40 kernel: {Q40Kernels.Active} (this CPU runs: {string.Join(", ", Q40Kernels.SupportedKinds)})");
    }
}
