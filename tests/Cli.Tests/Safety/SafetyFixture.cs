using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Cli.Tests.Safety;

/// <summary>Inputs, folder snapshots and child-process runs for the data-safety tests.</summary>
internal static partial class SafetyFixture
{
    /// <summary>A tensor of uniform values in [-0.5, 0.5) from <paramref name="seed"/>.</summary>
    public static Tensor Random(DType dtype, Shape shape, int seed)
    {
        var rng = new Random(seed);
        float[] v = new float[shape.ElementCount];
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = (float)(rng.NextDouble() - 0.5);
        }

        var t = Tensor.Allocate(dtype, shape);
        FloatConversions.FromSingle(dtype, v, ((OwnedTensorData)t.Data).Span);
        return t;
    }

    /// <summary>Writes a safetensors file of 2x32 f32 tensors with the given names (seed = index).</summary>
    public static void WriteSafetensors(string path, params string[] names)
    {
        var tensors = names.Select((n, i) => (n, Random(DType.F32, new Shape(2, 32), i + 1))).ToList();
        SafetensorsWriter.Write(path, tensors);
        tensors.ForEach(t => t.Item2.Dispose());
    }

    /// <summary>A chain of <paramref name="layers"/> linear layers with <paramref name="width"/>-square f32 weights.</summary>
    public static Graph LinearChain(int layers, int width, int seed = 1)
    {
        var g = new Graph();
        g.Registries.Add("tract_core");
        g.AddInput("input", DType.F32, [Dim.Of(1), Dim.Of(width)]);
        string previous = "input";
        for (int i = 0; i < layers; i++)
        {
            int s = seed + i;
            g.AddVariable($"w{i}", $"w{i}", TensorSource.Computed(DType.F32, new Shape(width, width), () => Random(DType.F32, new Shape(width, width), s)));
            string output = i == layers - 1 ? "output" : $"h{i}";
            g.Nodes.Add(new Node("linear", output).With(Arg.Ref(previous)).With(Arg.Ref($"w{i}")).With(Arg.Float(0.0)));
            previous = output;
        }

        g.Outputs.Add("output");
        return g;
    }

    /// <summary>Writes a small NNEF model (one 32x32 linear layer) to <paramref name="destination"/>.</summary>
    public static void WriteSmallModel(string destination) => NnefArchive.Write(LinearChain(1, 32), destination);

    /// <summary>Every entry under <paramref name="root"/> (hidden ones included) with a hash of each file's bytes.</summary>
    public static SortedDictionary<string, string> Snapshot(string root)
    {
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (string entry in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            string rel = Path.GetRelativePath(root, entry);
            var info = new FileInfo(entry);
            if (info.LinkTarget is not null)
            {
                map[rel] = "link -> " + info.LinkTarget;
            }
            else if (Directory.Exists(entry))
            {
                map[rel] = "dir";
            }
            else
            {
                using FileStream s = File.OpenRead(entry);
                map[rel] = Convert.ToHexString(SHA256.HashData(s));
            }
        }

        return map;
    }

    /// <summary>Asserts that <paramref name="root"/> holds exactly what <paramref name="before"/> recorded.</summary>
    public static void AssertUnchanged(SortedDictionary<string, string> before, string root, string context)
    {
        SortedDictionary<string, string> after = Snapshot(root);
        string added = string.Join(", ", after.Keys.Except(before.Keys));
        string removed = string.Join(", ", before.Keys.Except(after.Keys));
        string changed = string.Join(", ", before.Keys.Intersect(after.Keys).Where(k => before[k] != after[k]));
        Assert.True(added.Length == 0 && removed.Length == 0 && changed.Length == 0, $"added [{added}] removed [{removed}] changed [{changed}]\n{context}");
    }

    /// <summary>The built <c>t2n.dll</c> next to the tests.</summary>
    public static string T2nDll
    {
        get
        {
            string dll = Path.Combine(AppContext.BaseDirectory, "t2n.dll");
            Assert.True(File.Exists(dll), $"{dll} not built");
            return dll;
        }
    }

    /// <summary>Starts <c>dotnet t2n.dll args</c> in <paramref name="workingDirectory"/> with redirected output.</summary>
    public static Process Start(string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(T2nDll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        return Process.Start(psi)!;
    }

    /// <summary>Runs <c>t2n</c> as a child process to completion.</summary>
    public static (int Code, string Out, string Err) RunChild(string workingDirectory, params string[] args)
    {
        using Process p = Start(workingDirectory, args);
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"t2n {string.Join(' ', args)} did not finish");
        }

        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Sends a POSIX signal (2 = SIGINT, 15 = SIGTERM, 9 = SIGKILL).</summary>
    public static void Signal(int pid, int signal) => Assert.Equal(0, Kill(pid, signal));

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
