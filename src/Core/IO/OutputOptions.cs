namespace TorchToNnef.IO;

/// <summary>Options of an <see cref="OutputTransaction"/>.</summary>
public sealed record OutputOptions
{
    /// <summary>
    /// Replace existing outputs, but only those recognisably of the same kind (<see cref="OutputKind"/>). Off by
    /// default: an existing path is refused.
    /// </summary>
    public bool Overwrite { get; init; }

    /// <summary>
    /// Receives one line per notable event that is not an error: temporary files of an interrupted earlier run that
    /// were removed (or an output it had set aside, which is left for the user).
    /// </summary>
    public Action<string>? Notice { get; init; }
}
