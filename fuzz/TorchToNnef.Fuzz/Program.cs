using System.Diagnostics;
using SharpFuzz;
using TorchToNnef.Fuzz;

// Entry point of the fuzz harness; fuzz/run.sh and fuzz/smoke.sh drive it (see fuzz/README.md).
return args switch
{
    ["list"] => List(),
    ["fuzz", string name] => Fuzz(Target(name)),
    ["replay", string name, .. var paths] when paths.Length > 0 => Replay(Target(name), paths),
    ["replay-all", string corpusRoot] => ReplayAll(corpusRoot),
    ["seeds", string name, string golden, string outDir, .. var handMade] when handMade.Length <= 1 =>
        Seeds(name, new GoldenFiles(golden), outDir, handMade.FirstOrDefault()),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: TorchToNnef.Fuzz list
               TorchToNnef.Fuzz fuzz <target>                       (under afl-fuzz; input on stdin)
               TorchToNnef.Fuzz replay <target> <file|folder>...    (runs inputs in-process, exit 1 on a finding)
               TorchToNnef.Fuzz replay-all <corpus-dir>             (replay of <corpus-dir>/<target>/ for every target, one process)
               TorchToNnef.Fuzz seeds <target|all> <golden-dir> <out-dir> [hand-made-seeds-dir]
        """);
    return 2;
}

static FuzzTarget Target(string name) =>
    TargetCatalog.Find(name) ?? throw new ArgumentException($"unknown target '{name}'; targets: {string.Join(", ", TargetCatalog.All.Select(t => t.Name))}");

static int List()
{
    foreach (FuzzTarget t in TargetCatalog.All)
    {
        Console.WriteLine($"{t.Name,-18} {t.Description}");
    }

    return 0;
}

// afl-fuzz persistent mode: SharpFuzz's fork server calls the action once per input and reports an escaping
// exception as a crash; a hang is afl-fuzz's own timeout.
static int Fuzz(FuzzTarget target)
{
    using var scratch = new Scratch();
    var buffer = new MemoryStream();
    Fuzzer.Run(stream =>
    {
        buffer.SetLength(0);
        stream.CopyTo(buffer);
        Contract.Execute(target, buffer.ToArray(), scratch);
    });
    return 0;
}

static int Replay(FuzzTarget target, string[] paths)
{
    ArmInstrumentation();
    using var scratch = new Scratch();
    return ReplayFiles(target, paths, scratch) ? 0 : 1;
}

// Every target's corpus in one process: the CI smoke test replays all seeds this way, paying for one runtime start and
// one JIT of the shared reader code instead of one per target. A missing corpus folder is an error, not a pass.
static int ReplayAll(string corpusRoot)
{
    ArmInstrumentation();
    using var scratch = new Scratch();
    bool clean = true;
    foreach (FuzzTarget target in TargetCatalog.All)
    {
        string corpus = Path.Combine(corpusRoot, target.Name);
        if (!Directory.Exists(corpus) || !Directory.EnumerateFiles(corpus).Any())
        {
            Console.WriteLine($"{target.Name}: no inputs in {corpus}");
            clean = false;
            continue;
        }

        // After a hang the stuck worker thread keeps running; the remaining targets are still replayed and reported.
        clean &= ReplayFiles(target, [corpus], scratch);
    }

    return clean ? 0 : 1;
}

// Replays files (folders: their files in ordinal order) through one target; false when one broke the contract.
static bool ReplayFiles(FuzzTarget target, string[] paths, Scratch scratch)
{
    TimeSpan limit = TimeSpan.FromSeconds(double.Parse(Environment.GetEnvironmentVariable("T2N_FUZZ_REPLAY_TIMEOUT") ?? "10"));
    int accepted = 0, rejected = 0, findings = 0;
    var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]).ToList();
    foreach (string file in files)
    {
        byte[] input = File.ReadAllBytes(file);
        Outcome? outcome = null;
        Exception? error = null;
        var clock = Stopwatch.StartNew();
        // A thread per input, so that a hang is reported with the input that caused it instead of blocking the replay.
        var worker = new Thread(() =>
        {
            try
            {
                outcome = Contract.Execute(target, input, scratch);
            }
            catch (Exception e)
            {
                error = e;
            }
        }, maxStackSize: 8 << 20) { IsBackground = true };
        worker.Start();
        if (!worker.Join(limit))
        {
            Console.WriteLine($"FINDING {file}: hang (no answer after {limit.TotalSeconds} s)");
            findings++;
            break;
        }

        if (error is not null)
        {
            Console.WriteLine($"FINDING {file}: {error.GetType().FullName}: {error.Message}");
            // The frames nearest the throw locate the bug; the rest is the harness.
            foreach (string frame in (error.StackTrace ?? string.Empty).Split('\n').Take(4))
            {
                Console.WriteLine("  " + frame.Trim());
            }

            findings++;
        }
        else
        {
            _ = outcome == Outcome.Accepted ? accepted++ : rejected++;
            if (Environment.GetEnvironmentVariable("T2N_FUZZ_VERBOSE") == "1")
            {
                Console.WriteLine($"{outcome,-8} {clock.ElapsedMilliseconds,6} ms {file}");
            }
        }
    }

    Console.WriteLine($"{target.Name}: {files.Count} input(s): {accepted} accepted, {rejected} rejected, {findings} finding(s)");
    return findings == 0;
}

// Instrumented assemblies write every branch into SharpFuzz's bitmap, which only Fuzzer.Run sets up; outside
// afl-fuzz (replay of a finding with the instrumented build) give them a private bitmap to write into.
static unsafe void ArmInstrumentation()
{
    if (SharpFuzz.Common.Trace.SharedMem == null)
    {
        SharpFuzz.Common.Trace.SharedMem = (byte*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(1 << 16);
    }
}

static int Seeds(string name, GoldenFiles golden, string outDir, string? handMadeRoot)
{
    ArmInstrumentation();
    foreach (FuzzTarget t in name == "all" ? TargetCatalog.All : [Target(name)])
    {
        string? handMade = handMadeRoot is null ? null : Path.Combine(handMadeRoot, t.Name);
        int n = SeedCorpus.Write(t, golden, handMade, Path.Combine(outDir, t.Name));
        Console.WriteLine($"{t.Name}: {n} seed(s)");
    }

    return 0;
}
