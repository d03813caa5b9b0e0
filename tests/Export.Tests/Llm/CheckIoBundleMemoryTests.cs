using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Verification;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Export.Tests.Llm;

/// <summary>
/// A check-io bundle holds a decoder's caches, two arrays per layer in and out, so what writing it holds at once must not
/// grow with their number. It once copied every value for the writer before writing the first: at 7B widths about
/// 0.7 MB per layer held at once, and the copies' storage stayed in the shared array pool afterwards, so the export's
/// verification grew by ~1.5 MB of RSS per layer (bench/README.md, "Verification memory and depth").
/// </summary>
[Collection(nameof(LlmVerificationMemoryTests))] // measures the process's allocations: nothing else may run meanwhile
public class CheckIoBundleMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void WritingABundleCopiesOneValueAtATime()
    {
        // 64 values of 384 KB (a cache in a deep model's bundle); the writer's copy of each is rented from the shared pool
        // (512 KB arrays), so holding them all at once allocates ~64 of them, more than the pool keeps spare.
        const int Count = 64;
        const int Elements = 96 * 1024;
        var values = new List<NamedTensor>(Count);
        for (int v = 0; v < Count; v++)
        {
            float[] data = new float[Elements];
            for (int i = 0; i < Elements; i++)
            {
                data[i] = (v * 31) + (i % 97) - 40.5f;
            }

            values.Add(new NamedTensor($"out_cache_key_{v}", TensorValue.F32([1, 2, 384, 128], data)));
        }

        using var temp = new TempDir();
        string path = Path.Combine(temp.Path, "bundle.npz");
        long allocated;
        using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            IoBundle.WriteNpz(stream, values.Take(1)); // the writer's one-time costs (types, buffers) out of the figure
            stream.SetLength(0);
            stream.Position = 0;
            long before = GC.GetTotalAllocatedBytes(precise: true);
            IoBundle.WriteNpz(stream, values);
            allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        }

        // One value's copy (a 512 KB array) at most, and the archive's entries and central directory: a few KB per
        // value. All copies at once were 64 x 512 KB = 32 MB; the bound is four values' copies.
        long oneCopy = 512 * 1024;
        output.WriteLine($"writing {Count} values of {Elements * 4:N0} B allocated {allocated:N0} B; one value's copy is {oneCopy:N0} B");
        Assert.InRange(allocated, 0, 4 * oneCopy);

        // And the bundle holds the values, in order, bit for bit.
        List<NamedTensor> read = IoBundle.ReadNpz(path);
        Assert.Equal(values.Select(v => v.Name), read.Select(r => r.Name));
        for (int v = 0; v < Count; v++)
        {
            Assert.Equal(values[v].Value.Shape.ToArray(), read[v].Value.Shape.ToArray());
            Assert.True(values[v].Value.Span<float>().SequenceEqual(read[v].Value.Span<float>()), $"value {v} differs");
        }
    }
}
