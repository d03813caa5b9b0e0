using System.Diagnostics;

namespace TorchToNnef.Cli.Tests;

/// <summary>
/// Runs <c>t2n</c> (the <c>t2n.dll</c> built next to the tests) in a child process, so that a test can bound its
/// memory (<c>DOTNET_GCHeapHardLimit</c>), give it its own temporary folder, or survive it blocking or dying.
/// </summary>
internal static class ChildCli
{
    public static (int Code, string Out, string Err) Run(IReadOnlyDictionary<string, string> environment, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "t2n.dll"));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach ((string key, string value) in environment)
        {
            psi.Environment[key] = value;
        }

        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            throw new TimeoutException($"t2n {string.Join(' ', args)} did not finish within {timeout.TotalSeconds:F0} s (blocked?)");
        }

        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
