using System.Runtime.InteropServices;
using TorchToNnef.IO;

namespace TorchToNnef.Cli;

/// <summary>
/// Turns SIGINT (Ctrl-C) and SIGTERM into cancellation of the run: the signal's default (immediate termination) is
/// suppressed, the token fires, the command stops at its next write or statement, its output transaction removes what
/// the run created, and <see cref="CliApp"/> exits with 128 + the signal number (130, 143). A run that does not stop
/// within <see cref="Grace"/> (or a second signal) has its uncommitted outputs discarded
/// (<see cref="OutputTransaction.AbortAll"/>) and the process exits with the same status.
/// </summary>
internal sealed class CliInterrupt : IDisposable
{
    /// <summary>How long a run may take to stop after the first signal.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    private const int SigInt = 2;
    private const int SigTerm = 15;

    private readonly CancellationTokenSource _cancellation = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly TextWriter _stderr;
    private Timer? _deadline;
    private int _signal;

    private CliInterrupt(TextWriter stderr) => _stderr = stderr;

    /// <summary>Cancelled when the run is interrupted.</summary>
    public CancellationToken Token => _cancellation.Token;

    /// <summary>True once a signal arrived.</summary>
    public bool Interrupted => Volatile.Read(ref _signal) != 0;

    /// <summary>The conventional exit status: 128 + the signal number.</summary>
    public int ExitCode => 128 + (Volatile.Read(ref _signal) is 0 ? SigInt : _signal);

    /// <summary>Handles SIGINT and SIGTERM for this process until disposed.</summary>
    public static CliInterrupt FromSignals(TextWriter stderr)
    {
        var interrupt = new CliInterrupt(stderr);
        interrupt._registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, c => interrupt.OnSignal(c, SigInt)));
        interrupt._registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => interrupt.OnSignal(c, SigTerm)));
        return interrupt;
    }

    /// <summary>An interrupt that only fires when <see cref="Interrupt"/> is called (tests, library hosts).</summary>
    public static CliInterrupt Manual(TextWriter stderr) => new(stderr);

    /// <summary>Interrupts the run as signal <paramref name="signalNumber"/> would, without the forced exit.</summary>
    public void Interrupt(int signalNumber)
    {
        if (Interlocked.CompareExchange(ref _signal, signalNumber, 0) == 0)
        {
            _cancellation.Cancel();
        }
    }

    public void Dispose()
    {
        foreach (PosixSignalRegistration r in _registrations)
        {
            r.Dispose();
        }

        _deadline?.Dispose();
        _cancellation.Dispose();
    }

    private void OnSignal(PosixSignalContext context, int signalNumber)
    {
        context.Cancel = true;
        if (Interlocked.CompareExchange(ref _signal, signalNumber, 0) != 0)
        {
            ForceExit();
            return;
        }

        _deadline = new Timer(_ => ForceExit(), null, Grace, Timeout.InfiniteTimeSpan);
        _cancellation.Cancel();
    }

    private void ForceExit()
    {
        OutputTransaction.AbortAll();
        _stderr.WriteLine("t2n: interrupted; the outputs of this run were removed");
        _stderr.Flush();
        Environment.Exit(ExitCode);
    }
}
