namespace TorchToNnef.Fuzz;

/// <summary>
/// One reader under fuzzing: how to feed it one input, how much it may allocate doing so, and which seeds start its
/// corpus. The contract every target checks: an input either parses or is rejected with one of the reader's
/// documented exceptions (the <see cref="Errors.TorchToNnefException"/> family); any other exception, a hang or an
/// allocation beyond <see cref="AllocationBudget"/> is a finding.
/// </summary>
internal abstract class FuzzTarget
{
    /// <summary>The name used on the command line and for corpus folders.</summary>
    public abstract string Name { get; }

    /// <summary>The entry points the target drives, for <c>list</c> and the README.</summary>
    public abstract string Description { get; }

    /// <summary>
    /// Managed bytes one input may cost. Generous on purpose: a finding is an allocation that grows with what a file
    /// claims rather than with what it holds. Text readers get room for a few copies of their input.
    /// </summary>
    public virtual long AllocationBudget(int inputLength) => (16L << 20) + 64L * inputLength;

    /// <summary>Feeds one input to the reader and touches everything it returns (every tensor byte included).</summary>
    public abstract void Run(byte[] input, Scratch scratch);

    /// <summary>Seeds derived from the golden files at run time (nothing large is committed).</summary>
    public abstract IEnumerable<Seed> Seeds(GoldenFiles golden);
}

/// <summary>A named seed input.</summary>
internal readonly record struct Seed(string Name, byte[] Bytes);
