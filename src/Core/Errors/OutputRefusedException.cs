namespace TorchToNnef.Errors;

/// <summary>Why the output policy refused an output path (see <see cref="IO.OutputTransaction"/>).</summary>
public enum OutputRefusal
{
    /// <summary>The path exists and overwriting was not asked for.</summary>
    Exists,

    /// <summary>The path exists but is not recognisably an output of the kind to write (a foreign file or folder).</summary>
    NotOurs,

    /// <summary>The path is an input of the same run, lies inside an input folder, or (replaced whole) holds an input.</summary>
    Input,

    /// <summary>Two outputs of the same run would share a path, or one would lie inside another.</summary>
    OtherOutput,

    /// <summary>The path cannot be an output at all: a symbolic link, a device, the root, the current folder, a file as parent.</summary>
    Unusable,
}

/// <summary>
/// An output path was refused before anything was written: it exists without overwrite, it is not recognisably an
/// output of the same kind, it is or touches an input, or it cannot hold an output.
/// </summary>
public sealed class OutputRefusedException : TorchToNnefException
{
    /// <summary>Creates the error; the message starts with the path.</summary>
    public OutputRefusedException(string path, OutputRefusal reason, string what)
        : base($"{path}: {what}")
    {
        FilePath = path;
        Reason = reason;
    }

    /// <summary>Which rule refused the path.</summary>
    public OutputRefusal Reason { get; }
}
