namespace TorchToNnef.Errors;

/// <summary>
/// Base type of every error the product raises on purpose, so callers can catch all of ours at once.
/// Messages name the file, the tensor and what was wrong, when those are known.
/// </summary>
public class TorchToNnefException : Exception
{
    /// <summary>Creates an error with a message.</summary>
    public TorchToNnefException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an error with a message and the error that caused it.</summary>
    public TorchToNnefException(string message, Exception? inner)
        : base(message, inner)
    {
    }

    /// <summary>The file involved, if any.</summary>
    public string? FilePath { get; init; }

    /// <summary>The tensor (or node) involved, if any.</summary>
    public string? TensorName { get; init; }

    /// <summary>Builds "file: tensor 'x': what" from the parts that are known.</summary>
    protected static string Compose(string? filePath, string? tensorName, string what)
    {
        string prefix = filePath is null ? string.Empty : filePath + ": ";
        string tensor = tensorName is null ? string.Empty : $"tensor '{tensorName}': ";
        return prefix + tensor + what;
    }
}

/// <summary>An input file is malformed, truncated or inconsistent.</summary>
public sealed class InvalidInputFileException : TorchToNnefException
{
    /// <summary>Creates the error; the message is prefixed with the file and tensor names.</summary>
    public InvalidInputFileException(string? filePath, string? tensorName, string what, Exception? inner = null)
        : base(Compose(filePath, tensorName, what), inner)
    {
        FilePath = filePath;
        TensorName = tensorName;
        Reason = what;
    }

    /// <summary>What was wrong, without the file and tensor prefix.</summary>
    public string Reason { get; }
}

/// <summary>The input is valid but uses a feature this product does not support.</summary>
public sealed class UnsupportedFeatureException : TorchToNnefException
{
    /// <summary>Creates the error; the message is prefixed with the file and tensor names.</summary>
    public UnsupportedFeatureException(string? filePath, string? tensorName, string what)
        : base(Compose(filePath, tensorName, what))
    {
        FilePath = filePath;
        TensorName = tensorName;
    }
}

/// <summary>A tensor cannot be quantized with the requested scheme (rank, shape or group size).</summary>
public sealed class ImpossibleQuantizationException : TorchToNnefException
{
    /// <summary>Creates the error naming the tensor and why.</summary>
    public ImpossibleQuantizationException(string? tensorName, string what)
        : base(Compose(null, tensorName, what))
    {
        TensorName = tensorName;
    }
}

/// <summary>An export's outputs do not match the reference within the tolerance.</summary>
public sealed class VerificationFailedException : TorchToNnefException
{
    /// <summary>Creates the error naming the output and the mismatch.</summary>
    public VerificationFailedException(string? outputName, string what)
        : base(Compose(null, outputName, what))
    {
        TensorName = outputName;
    }
}

/// <summary>A graph is inconsistent (unknown value, cycle, duplicate name, bad operator use).</summary>
public sealed class InvalidGraphException : TorchToNnefException
{
    /// <summary>Creates the error naming the node (or value) and the fault.</summary>
    public InvalidGraphException(string? nodeName, string what)
        : base(nodeName is null ? what : $"node '{nodeName}': {what}")
    {
        TensorName = nodeName;
    }
}
