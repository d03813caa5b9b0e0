using TorchToNnef.Export.Evaluation;
using TorchToNnef.Formats.Numpy;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Verification;

/// <summary>Named arrays of a check-io bundle (<c>.npz</c>, inputs and outputs by name) or of single <c>.npy</c> files.</summary>
public static class IoBundle
{
    /// <summary>Reads every array of an <c>.npz</c>, in stored order.</summary>
    /// <exception cref="Errors.InvalidInputFileException">The archive or an array is malformed.</exception>
    public static List<NamedTensor> ReadNpz(string path)
    {
        IReadOnlyList<(string Name, Tensor Tensor)> entries = NpzArchive.Read(path);
        try
        {
            return entries.Select(e => new NamedTensor(e.Name, TensorValue.FromTensor(e.Tensor, e.Name))).ToList();
        }
        finally
        {
            foreach ((_, Tensor tensor) in entries)
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>Reads one <c>.npy</c> file as the array <paramref name="name"/>.</summary>
    public static NamedTensor ReadNpy(string name, string path)
    {
        using Tensor tensor = NpyFile.Read(path);
        return new NamedTensor(name, TensorValue.FromTensor(tensor, name));
    }

    /// <summary>Writes named values to an <c>.npz</c> (atomically; stored, not deflated).</summary>
    public static void WriteNpz(string path, IEnumerable<NamedTensor> values) =>
        IO.AtomicFile.Write(path, stream => WriteNpz(stream, values));

    /// <summary>
    /// Writes named values as an <c>.npz</c> to <paramref name="destination"/> (stored, not deflated), one at a time:
    /// <paramref name="values"/> is enumerated as the archive is written, and each value's copy for the writer is made
    /// when its entry starts and released when the next one starts.
    /// </summary>
    /// <remarks>
    /// A decoder's bundle holds two cache arrays per layer in and out. Copying them all before writing (as this once did)
    /// held every copy at once, and the copies' storage (rented from the shared array pool) stayed in the pool afterwards:
    /// about 0.7 MB per layer at 7B widths, so the check-io's memory grew with the model's depth.
    /// </remarks>
    public static void WriteNpz(Stream destination, IEnumerable<NamedTensor> values)
    {
        Tensor? current = null;
        IEnumerable<(string Name, Tensor Tensor)> OneAtATime()
        {
            foreach (NamedTensor o in values)
            {
                // The writer is done with the previous entry when it asks for the next (NpzArchive.Write writes each
                // entry whole before it moves on).
                current?.Dispose();
                current = null;
                current = o.Value.ToTensor();
                yield return (o.Name, current);
            }
        }

        try
        {
            NpzArchive.Write(destination, OneAtATime(), compressed: false);
        }
        finally
        {
            current?.Dispose();
        }
    }
}
