using TorchToNnef.Cli.Commands;
using TorchToNnef.IO;

namespace TorchToNnef.Cli;

/// <summary>How much a run prints: <c>--json</c> (only the summary on stdout), <c>--quiet</c>, <c>--verbose</c>.</summary>
/// <param name="Json">Print one JSON summary on stdout instead of text.</param>
/// <param name="Quiet">Print nothing but errors.</param>
/// <param name="Verbose">Print details (per-tensor lines, timings, the kernel).</param>
internal sealed record OutputMode(bool Json, bool Quiet, bool Verbose);

/// <summary>
/// What a command runs with: its writers (already filtered by <see cref="OutputMode"/>), the cancellation of the run,
/// and the <see cref="CommandSummary"/> it fills for <c>--json</c>.
/// </summary>
internal sealed class CommandContext
{
    private readonly TextWriter _stderr;
    private readonly string _name;

    public CommandContext(string name, TextWriter stdout, TextWriter stderr, OutputMode mode, CancellationToken cancellation)
    {
        _name = name;
        _stderr = stderr;
        Mode = mode;
        Cancellation = cancellation;
        RawOut = stdout;
        Out = mode.Json || mode.Quiet ? TextWriter.Null : stdout;
        Summary = new CommandSummary { Command = name };
    }

    /// <summary>The output mode.</summary>
    public OutputMode Mode { get; }

    /// <summary>Text results (nothing under <c>--json</c> or <c>--quiet</c>).</summary>
    public TextWriter Out { get; }

    /// <summary>stdout itself (for the JSON document).</summary>
    public TextWriter RawOut { get; }

    /// <summary>Stops the run (Ctrl-C).</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>The summary <c>--json</c> prints.</summary>
    public CommandSummary Summary { get; }

    /// <summary>True when the command printed its own JSON document (inspect's report), so the summary is not printed.</summary>
    public bool SummaryPrinted { get; set; }

    /// <summary>Notices of the output policy (an output replaced, stale temporaries removed); not under --quiet.</summary>
    public Action<string> Notice => m =>
    {
        if (!Mode.Quiet)
        {
            _stderr.WriteLine($"t2n {_name}: {m}");
        }
    };

    /// <summary>A warning: on stderr (not under <c>--quiet</c>) and in the summary.</summary>
    public void Warn(string message)
    {
        Summary.Warnings.Add(message);
        if (!Mode.Quiet)
        {
            _stderr.WriteLine($"t2n {_name}: warning: {TerminalText.Escape(message)}");
        }
    }

    /// <summary>Why the run failed a check (exit code 1): on stderr always, and in the summary.</summary>
    public void Fail(string message)
    {
        Summary.Error = message;
        _stderr.WriteLine($"t2n {_name}: {TerminalText.Escape(message)}");
    }

    /// <summary>A detail printed only with <c>--verbose</c> (on stderr, so stdout stays the result).</summary>
    public void Detail(string message)
    {
        if (Mode.Verbose && !Mode.Quiet)
        {
            _stderr.WriteLine($"t2n {_name}: {message}");
        }
    }

    /// <summary>A progress line on the interactive terminal (never when stderr is redirected, nor under --quiet).</summary>
    public ProgressLine? Progress() => Mode.Quiet ? null : ProgressLine.ForConsole(_stderr);
}
