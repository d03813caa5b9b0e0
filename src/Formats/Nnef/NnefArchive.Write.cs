using System.Globalization;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef.Archive;
using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Nnef;

public static partial class NnefArchive
{
    /// <summary>
    /// Writes <paramref name="graph"/> as a tract-loadable archive: <c>graph.nnef</c>, <c>graph.quant</c> (when some
    /// value is quantized), then one <c>.dat</c> per label in graph order, each streamed from its source so memory
    /// stays bounded by one tensor. Labels are sanitized into safe relative paths (the written graph uses the
    /// sanitized labels). The result is built next to the destination under a hidden temporary name and moved into
    /// place only when complete; on failure nothing is left behind. The same graph gives byte-identical output.
    /// </summary>
    /// <param name="graph">The graph (not modified).</param>
    /// <param name="destination">A directory, or a <c>.nnef.tgz</c>/<c>.tar</c> file.</param>
    /// <param name="options">Target version, container, compression level, overwrite.</param>
    /// <exception cref="IOException">The destination exists and <see cref="NnefWriteOptions.Overwrite"/> is off.</exception>
    /// <exception cref="InvalidGraphException">A variable without data, or two variables sharing a label with different data.</exception>
    /// <exception cref="UnsupportedFeatureException">Something the target cannot represent (bf16 data, rank-3 Q4_0 for tract &lt;= 0.21.10, ...).</exception>
    public static void Write(Graph graph, string destination, NnefWriteOptions? options = null)
    {
        options ??= new NnefWriteOptions();
        if (options.CompressionLevel is < 0 or > 9)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.CompressionLevel, "gzip compression level must be 0 to 9");
        }

        TractVersion target = options.TractVersion
            ?? (TractVersion.TryParse(graph.GetProperty("tract_target_version"), out TractVersion v) ? v : TractVersion.Latest);
        NnefArchiveFormat format = ResolveFormat(options.Format, destination);
        WritePlan plan = WritePlan.Create(graph, target);

        string full = Path.GetFullPath(destination).TrimEnd(Path.DirectorySeparatorChar);
        string parent = Path.GetDirectoryName(full) ?? throw new IOException($"cannot write to the root {full}");
        bool exists = File.Exists(full) || Directory.Exists(full);
        if (exists && !options.Overwrite)
        {
            throw new IOException($"{destination} already exists (use overwrite to replace it)");
        }

        Directory.CreateDirectory(parent);
        string temp = Path.Combine(parent, $".{Path.GetFileName(full)}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            if (format == NnefArchiveFormat.Directory)
            {
                Directory.CreateDirectory(temp);
                using var sink = new DirectorySink(temp);
                WriteMembers(plan, sink);
            }
            else
            {
                using var sink = new TarSink(temp, format == NnefArchiveFormat.Tgz, options.CompressionLevel);
                WriteMembers(plan, sink);
            }

            MoveIntoPlace(temp, full, format == NnefArchiveFormat.Directory);
        }
        catch
        {
            DeleteQuietly(temp);
            throw;
        }
    }

    private static void WriteMembers(WritePlan plan, ArchiveSink sink)
    {
        sink.WriteText("graph.nnef", plan.GraphText);
        if (plan.QuantText is not null)
        {
            sink.WriteText("graph.quant", plan.QuantText);
        }

        foreach (DatMember dat in plan.Dats)
        {
            sink.WriteDat(dat);
        }

        sink.Complete();
    }

    private static NnefArchiveFormat ResolveFormat(NnefArchiveFormat format, string destination)
    {
        if (format != NnefArchiveFormat.Auto)
        {
            return format;
        }

        string name = destination.TrimEnd('/', '\\');
        return name.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase)
            ? NnefArchiveFormat.Tgz
            : name.EndsWith(".tar", StringComparison.OrdinalIgnoreCase) ? NnefArchiveFormat.Tar : NnefArchiveFormat.Directory;
    }

    /// <summary>
    /// Moves the finished temporary output to the destination. A file replaces its predecessor atomically; an existing
    /// directory is first renamed aside, then deleted once the new one is in place.
    /// </summary>
    private static void MoveIntoPlace(string temp, string destination, bool isDirectory)
    {
        if (!isDirectory)
        {
            if (Directory.Exists(destination))
            {
                throw new IOException($"{destination} is a directory; cannot replace it with an archive file");
            }

            File.Move(temp, destination, overwrite: true);
            return;
        }

        if (File.Exists(destination))
        {
            throw new IOException($"{destination} is a file; cannot replace it with a directory");
        }

        if (!Directory.Exists(destination))
        {
            Directory.Move(temp, destination);
            return;
        }

        string old = Path.Combine(
            Path.GetDirectoryName(destination)!,
            $".{Path.GetFileName(destination)}.old-{Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture)}");
        Directory.Move(destination, old);
        try
        {
            Directory.Move(temp, destination);
        }
        catch
        {
            Directory.Move(old, destination);
            throw;
        }

        DeleteQuietly(old);
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else if (File.Exists(path))
            {
                File.Delete(path);
            }
        }
        catch (IOException)
        {
            // Best effort: the original error matters more than a leftover temporary.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
