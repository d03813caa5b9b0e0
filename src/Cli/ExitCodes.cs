namespace TorchToNnef.Cli;

/// <summary>
/// What <c>t2n</c>'s exit status means, the same for every command (documented in the README and in <c>t2n --help</c>),
/// so that a script can tell a failed check from a broken input.
/// </summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>The command ran but a check failed (for example <c>verify</c> outputs outside the tolerance).</summary>
    public const int CheckFailed = 1;

    /// <summary>The command line is wrong (unknown option, missing argument, refused output path).</summary>
    public const int Usage = 2;

    /// <summary>An input could not be read or is invalid, or an output could not be written.</summary>
    public const int InputOrIo = 3;

    /// <summary>An error t2n did not expect (a bug): reported in one line; please report it.</summary>
    public const int Internal = 70;

    /// <summary>The text <c>t2n --help</c> and every command's help end with.</summary>
    public const string HelpText = """
        Exit codes:
          0   success
          1   a check failed (verify: outputs outside the tolerance; export --check-io, export-llm: the archive does not
              compute what the model does, nothing written; selftest: a kernel disagrees with the reference)
          2   usage error (unknown option, missing argument, an output path the output policy refuses)
          3   input or I/O error (unreadable or invalid input, output that cannot be written)
          130/143  interrupted (Ctrl-C / SIGTERM); what the run created was removed
        """;
}
