using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

/// <summary>
/// Archives that claim far more data than they are worth (issue 8, item 5): a few megabytes of gzip that expand to a
/// 2 GiB <c>.dat</c> of zeros, headers that declare more than their member holds, members larger than the archive,
/// and a gzip stream that goes on long after its tar archive ends. <c>inspect</c>, <c>compress</c> and
/// <c>verify</c> each run in a child process with a 128 MiB GC heap: they must stop with a one-line error that
/// names the file (and the tensor, when one is involved), not die of an <see cref="OutOfMemoryException"/>, and
/// leave no temporary file behind.
/// </summary>
public class DecompressionBombTests
{
    private const int Side = 32768;
    private const long Payload = (long)Side * Side * 2; // f16[32768, 32768]: 2 GiB, the largest a valid .dat header allows here
    private const long Member = DatHeader.Size + Payload;

    private const string ReadsBig = """
        version 1.0;
        graph g(x) -> (y)
        {
            x = external<scalar>(shape = [1, 32768]);
            w = variable<scalar>(shape = [32768, 32768], label = 'big');
            y = linear(x, w, 0.0);
        }
        """;

    private const string ReadsSmall = """
        version 1.0;
        graph g(x) -> (y)
        {
            x = external<scalar>(shape = [1, 32]);
            w = variable<scalar>(shape = [4, 32], label = 'w');
            y = linear(x, w, 0.0);
        }
        """;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string variant in new[] { "read", "unread", "header-lies", "member-beyond-archive", "gzip-beyond-tar" })
        {
            foreach (string command in new[] { "inspect", "compress", "verify" })
            {
                data.Add(variant, command);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ABombFailsWithAClearErrorInBoundedMemory(string variant, string command)
    {
        using var dir = new TempDir();
        string bomb = dir.File("bomb.tgz");
        Build(variant, bomb);
        Assert.True(new FileInfo(bomb).Length < (4 << 20), "the bomb should be small");
        string io = dir.File("io.npz");
        IoBundle.WriteNpz(io, [new NamedTensor("x", TensorValue.FromTensor(Tensor.Allocate(DType.F32, Shape.Of(1, 32)), "x"))]);
        string temp = dir.File("tmp");
        Directory.CreateDirectory(temp);
        string output = dir.File("out.nnef.tgz");

        string[] args = command switch
        {
            "inspect" => ["inspect", bomb],
            "compress" => ["compress", "-i", bomb, "-o", output, "-c", "min_max_q4_0_all"],
            _ => ["verify", bomb, "--io", io],
        };
        var environment = new Dictionary<string, string>
        {
            ["DOTNET_GCHeapHardLimit"] = "0x8000000",
            ["TMPDIR"] = temp,
        };
        (int code, string stdout, string stderr) = ChildCli.Run(environment, TimeSpan.FromMinutes(3), args);

        Assert.DoesNotContain("Out of memory", stderr + stdout, StringComparison.OrdinalIgnoreCase);
        Assert.True(code == CliApp.InputError, $"exit {code}\n{stdout}\n{stderr}");
        Assert.StartsWith($"t2n {command}: error: ", stderr, StringComparison.Ordinal);
        Assert.Contains("bomb.tgz", stderr);
        if (variant != "gzip-beyond-tar")
        {
            Assert.Contains(variant == "unread" ? "'big'" : "tensor 'big'", stderr);
        }

        Assert.False(File.Exists(output) || Directory.Exists(output), "a failed compress leaves no output");
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Path).Select(Path.GetFileName).Except(["bomb.tgz", "io.npz", "tmp"]));
    }

    private static void Build(string variant, string path)
    {
        byte[] bigHeader = new byte[DatHeader.Size];
        DatHeader.For(DType.F16, Shape.Of(Side, Side)).WriteTo(bigHeader);
        byte[] smallW = new byte[DatHeader.Size + (4 * 32 * 4)];
        DatHeader.For(DType.F32, Shape.Of(4, 32)).WriteTo(smallW);
        byte[] small = [.. ArchiveBytes.TarMember("graph.nnef", ReadsSmall), .. ArchiveBytes.TarMember("w.dat", smallW)];
        byte[] tail = [.. ArchiveBytes.Padding(Member), .. ArchiveBytes.TarEnd];
        switch (variant)
        {
            case "read":
                // Valid throughout: a variable reads a 2 GiB tensor of zeros that 2 MB of gzip expand to.
                ArchiveBytes.WriteGzipWithZeros(
                    path, [.. ArchiveBytes.TarMember("graph.nnef", ReadsBig), .. ArchiveBytes.TarHeader("big.dat", Member), .. bigHeader], Payload, tail);
                break;
            case "unread":
                // The same member, but no variable refers to it.
                ArchiveBytes.WriteGzipWithZeros(path, [.. small, .. ArchiveBytes.TarHeader("big.dat", Member), .. bigHeader], Payload, tail);
                break;
            case "header-lies":
                // The .dat header announces 2 GiB; its member holds 16 bytes of payload.
                ArchiveBytes.WriteGzipWithZeros(
                    path, [.. ArchiveBytes.TarMember("graph.nnef", ReadsBig), .. ArchiveBytes.TarMember("big.dat", [.. bigHeader, .. new byte[16]]), .. ArchiveBytes.TarEnd], 0, []);
                break;
            case "member-beyond-archive":
                // The tar header announces 2 GiB of member data; the archive ends 1 MiB into it.
                ArchiveBytes.WriteGzipWithZeros(
                    path, [.. ArchiveBytes.TarMember("graph.nnef", ReadsBig), .. ArchiveBytes.TarHeader("big.dat", Member), .. bigHeader], 1 << 20, []);
                break;
            default:
                // A complete small archive, then 2 GiB of zeros no member accounts for.
                ArchiveBytes.WriteGzipWithZeros(path, [.. small, .. ArchiveBytes.TarEnd], Payload, []);
                break;
        }
    }
}
