namespace TorchToNnef.Benchmarks.Limits;

/// <summary>What one invocation of a benchmark method does, and which limit benchmark of the same class judges it.</summary>
/// <param name="Units">Units of work per invocation (FMAs, bytes).</param>
/// <param name="Unit">Name of the unit, e.g. <c>GFMA/s</c> or <c>GB/s</c> (rates are printed in 10^9 units per second).</param>
/// <param name="Limit">Name of the limit benchmark method, or null for a limit itself.</param>
public readonly record struct Work(double Units, string Unit, string? Limit);

/// <summary>A benchmark class that states the work of its methods, so rates and fractions of limits can be printed.</summary>
public interface IMeasuredWork
{
    /// <summary>The work of benchmark method <paramref name="method"/>, or null when it states none.</summary>
    Work? WorkOf(string method);
}
