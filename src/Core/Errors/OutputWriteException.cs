namespace TorchToNnef.Errors;

/// <summary>
/// Writing an output failed (its folder cannot be created, the disk is full, the file system is read-only, permission
/// is denied). The message names the output as the caller gave it, never the temporary file it was being written to,
/// and says what went wrong in a few words (<see cref="IO.IoErrorText"/>); the I/O exception is the inner exception.
/// </summary>
public sealed class OutputWriteException : TorchToNnefException
{
    /// <summary>Creates the error for output <paramref name="path"/>.</summary>
    public OutputWriteException(string path, Exception inner)
        : base($"{path}: cannot be written: {IO.IoErrorText.Reason(inner)}", inner)
    {
        FilePath = path;
    }
}
