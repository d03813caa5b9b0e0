using System.Diagnostics;
using Xunit;

namespace TorchToNnef.TestSupport;

/// <summary>FIFOs and devices where a reader expects a regular file, and a guard against readers that block on them.</summary>
public static class SpecialFiles
{
    /// <summary>A character device every Unix has: reads give endless zeros.</summary>
    public const string ZeroDevice = "/dev/zero";

    /// <summary>Creates a named pipe with <c>mkfifo</c>.</summary>
    public static void MakeFifo(string path)
    {
        using Process p = Process.Start(new ProcessStartInfo("mkfifo") { ArgumentList = { path }, UseShellExecute = false })!;
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"mkfifo {path} failed with exit code {p.ExitCode}");
        }
    }

    /// <summary>
    /// Runs <paramref name="read"/> and returns what it threw (null if nothing). If it has not finished within
    /// <paramref name="timeout"/> it is blocked (opening a FIFO for reading waits for a writer): the test fails, after
    /// the FIFOs in <paramref name="fifos"/> have been opened for writing (again and again, as a reader may open one
    /// several times) so that the blocked reader can finish instead of hanging the test run.
    /// </summary>
    public static Exception? RunWithoutBlocking(Action read, TimeSpan timeout, params string[] fifos)
    {
        Task task = Task.Factory.StartNew(read, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(timeout))
        {
            for (int round = 0; round < 100 && !task.IsCompleted; round++)
            {
                foreach (string fifo in fifos)
                {
                    // Each writer open waits for the next reader open; writers left waiting die with the test process.
                    _ = Task.Factory.StartNew(() => Poke(fifo), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                }

                ((IAsyncResult)task).AsyncWaitHandle.WaitOne(TimeSpan.FromMilliseconds(100));
            }

            Assert.Fail($"the reader blocked for more than {timeout.TotalSeconds:F0} s on a FIFO or device");
        }

        return task.Exception?.InnerException;
    }

    private static void Poke(string fifo)
    {
        try
        {
            using var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
