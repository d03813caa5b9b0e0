using TorchToNnef.Errors;

namespace TorchToNnef.Fuzz;

/// <summary>How a reader answered one input.</summary>
internal enum Outcome
{
    /// <summary>The input parsed.</summary>
    Accepted,

    /// <summary>The reader refused the input with a documented error.</summary>
    Rejected,
}

/// <summary>Runs one input through a target and enforces the contract (see <see cref="FuzzTarget"/>).</summary>
internal static class Contract
{
    /// <summary>
    /// Runs <paramref name="input"/>. Documented errors become <see cref="Outcome.Rejected"/>; any other exception
    /// escapes (afl-fuzz records it as a crash); an allocation over budget throws <see cref="FindingException"/>.
    /// </summary>
    public static Outcome Execute(FuzzTarget target, byte[] input, Scratch scratch)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        Outcome outcome;
        try
        {
            target.Run(input, scratch);
            outcome = Outcome.Accepted;
        }
        catch (TorchToNnefException)
        {
            outcome = Outcome.Rejected;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long budget = target.AllocationBudget(input.Length);
        if (allocated > budget)
        {
            throw new FindingException(
                $"{target.Name}: {allocated} bytes allocated for a {input.Length}-byte input ({outcome}), over the budget of {budget}");
        }

        return outcome;
    }
}
