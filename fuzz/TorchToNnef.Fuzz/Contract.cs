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
        TorchToNnefException? refusal = null;
        try
        {
            target.Run(input, scratch);
        }
        catch (TorchToNnefException e)
        {
            refusal = e;
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long budget = target.AllocationBudget(input.Length);
        if (allocated > budget)
        {
            throw new FindingException(
                $"{target.Name}: {allocated} bytes allocated for a {input.Length}-byte input, over the budget of {budget}; "
                + (refusal is null ? "accepted" : $"then refused: {Where(refusal)}"));
        }

        return refusal is null ? Outcome.Accepted : Outcome.Rejected;
    }

    // Where an allocation finding ended: the refusal and the frame that raised it (or its cause), so that a finding
    // can be told apart from another one with the same size.
    private static string Where(Exception refusal)
    {
        Exception origin = refusal.InnerException ?? refusal;
        IEnumerable<string> frames = (origin.StackTrace ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Take(3).Select(f => f.Trim().Split(" in ")[0]);
        return $"{refusal.GetType().Name}: {refusal.Message} [{origin.GetType().Name} {string.Join(" < ", frames)}]";
    }
}
