namespace TorchToNnef.Fuzz;

/// <summary>
/// A breach of a target's contract that is not itself an exception from the reader (an allocation beyond budget).
/// Deliberately outside the TorchToNnefException family, so afl-fuzz records it as a crash.
/// </summary>
internal sealed class FindingException(string message) : Exception(message);
