using System.Diagnostics;

namespace TorchToNnef.TestSupport;

/// <summary>
/// Re-runs selected tests of an already-built test assembly in child processes with hardware paths switched off
/// (<c>DOTNET_EnableAVX512=0</c>, <c>DOTNET_EnableAVX2=0</c>, <c>DOTNET_EnableHWIntrinsic=0</c>), so the JIT
/// really compiles the Vector256, Vector128 and scalar fallbacks and the tests check each against the reference.
/// Note: on .NET 10 <c>DOTNET_EnableAVX512F=0</c> is inert (the AVX-512 subsets became one switch,
/// <c>EnableAVX512</c>); a child run with it still uses Vector512. <see cref="AssertSwitchesHonoured"/> checks this.
/// </summary>
public static class IsaMatrix
{
    /// <summary>The switch sets, each one a child run.</summary>
    public static IReadOnlyList<string> Switches { get; } = ["DOTNET_EnableAVX512", "DOTNET_EnableAVX2", "DOTNET_EnableHWIntrinsic"];

    private const string ChildMarker = "T2N_ISA_MATRIX_CHILD";

    /// <summary>
    /// Call from a test that the matrix re-runs: in a child run, fails unless the switched-off vector width really
    /// is off, so a switch the runtime ignores cannot pass silently.
    /// </summary>
    public static void AssertSwitchesHonoured()
    {
        (string Variable, bool Accelerated)[] checks =
        [
            ("DOTNET_EnableAVX512", System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated),
            ("DOTNET_EnableAVX2", System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated),
            ("DOTNET_EnableHWIntrinsic", System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated),
        ];
        foreach ((string variable, bool accelerated) in checks)
        {
            if (Environment.GetEnvironmentVariable(variable) == "0" && accelerated)
            {
                throw new InvalidOperationException($"{variable}=0 is set but that vector width is still accelerated.");
            }
        }
    }

    /// <summary>
    /// Runs <c>dotnet test &lt;assembly&gt; --filter &lt;filter&gt;</c> once per switch and fails with the child's
    /// output if any run fails or runs no test.
    /// </summary>
    /// <param name="assemblyPath">The test assembly (usually <c>typeof(SomeTest).Assembly.Location</c>).</param>
    /// <param name="filter">A vstest filter that selects the tests to repeat (and not the caller, to avoid recursion).</param>
    public static void Run(string assemblyPath, string filter)
    {
        if (Environment.GetEnvironmentVariable(ChildMarker) == "1")
        {
            throw new InvalidOperationException($"IsaMatrix.Run was selected by its own filter '{filter}'; exclude the caller.");
        }

        foreach (string variable in Switches)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { "test", assemblyPath, "--filter", filter, "--nologo" })
            {
                psi.ArgumentList.Add(a);
            }

            psi.Environment[variable] = "0";
            psi.Environment[ChildMarker] = "1";
            psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            using Process p = Process.Start(psi)!;
            Task<string> stdout = p.StandardOutput.ReadToEndAsync();
            Task<string> stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException($"{variable}=0: child test run did not finish");
            }

            string output = stdout.Result + stderr.Result;
            if (p.ExitCode != 0 || !output.Contains("Passed!", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{variable}=0: child test run failed (exit {p.ExitCode}):\n{output}");
            }
        }
    }
}
