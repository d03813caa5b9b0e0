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

    /// <summary>Writes named values as an <c>.npz</c> to <paramref name="destination"/> (stored, not deflated).</summary>
    public static void WriteNpz(Stream destination, IEnumerable<NamedTensor> values)
    {
        var tensors = values.Select(o => (o.Name, o.Value.ToTensor())).ToList();
        try
        {
            NpzArchive.Write(destination, tensors, compressed: false);
        }
        finally
        {
            tensors.ForEach(t => t.Item2.Dispose());
        }
    }
}
