using System.Runtime.ExceptionServices;

namespace TorchToNnef.Quant;

/// <summary>
/// Runs the chunks of a Q4_0 window on the calling thread and on long-lived helper threads, in place of
/// <c>Parallel.For</c>. A window is small (about 1 MiB of blocks, a few hundred microseconds of work) and an export runs
/// thousands of them, often from two archive-writer threads at once: through the thread pool each window woke a pool
/// thread that then spun (<c>sched_yield</c>) before sleeping again, and the caller spun while waiting for it (13,900
/// <c>sched_yield</c> calls in one 1.1B export, bench/README.md "Archive writer (w-io)"). Here an idle helper blocks on a
/// monitor without spinning and is woken only when a window is posted while it sleeps; a caller whose chunks were all
/// claimed waits (blocking) only for chunks a helper is still running. Which thread runs which chunk does not change any
/// result: chunks write disjoint outputs.
/// </summary>
internal static class ChunkTeam
{
    private static readonly object Gate = new();
    private static readonly Queue<Job> Posted = new();
    private static int _helpers;
    private static int _sleeping;

    /// <summary>
    /// Calls <paramref name="body"/> once for each index in [0, <paramref name="count"/>), on up to
    /// <paramref name="parallelism"/> threads (this one included); returns when all calls have returned. The first
    /// exception a call throws is rethrown here (as itself), after the calls that had started have finished; chunks not
    /// started then are skipped.
    /// </summary>
    public static void Run(int count, int parallelism, Action<int> body)
    {
        parallelism = Math.Min(parallelism, Environment.ProcessorCount);
        if (parallelism <= 1 || count <= 1)
        {
            for (int i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        var job = new Job(count, body);
        lock (Gate)
        {
            while (_helpers < parallelism - 1)
            {
                new Thread(Help) { IsBackground = true, Name = $"t2n q40 helper {_helpers}" }.Start();
                _helpers++;
            }

            while (Posted.TryPeek(out Job? head) && head.AllClaimed)
            {
                Posted.Dequeue();
            }

            Posted.Enqueue(job);
            if (_sleeping > 0)
            {
                Monitor.Pulse(Gate);
            }
        }

        job.Work();
        job.WaitUntilDone();
        job.ThrowIfFailed();
    }

    private static void Help()
    {
        while (true)
        {
            Job job;
            lock (Gate)
            {
                while (true)
                {
                    while (Posted.TryPeek(out Job? head) && head.AllClaimed)
                    {
                        Posted.Dequeue();
                    }

                    if (Posted.TryPeek(out Job? next))
                    {
                        job = next;
                        break;
                    }

                    _sleeping++;
                    Monitor.Wait(Gate);
                    _sleeping--;
                }
            }

            job.Work();
        }
    }

    /// <summary>One call of <see cref="Run"/>: indices are claimed with an atomic counter, completions counted.</summary>
    private sealed class Job(int count, Action<int> body)
    {
        private readonly object _finished = new();
        private int _claimed = -1;
        private int _done;
        private ExceptionDispatchInfo? _error;

        public bool AllClaimed => Volatile.Read(ref _claimed) >= count - 1;

        public void Work()
        {
            int i;
            while ((i = Interlocked.Increment(ref _claimed)) < count)
            {
                try
                {
                    if (Volatile.Read(ref _error) is null)
                    {
                        body(i);
                    }
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
                }

                if (Interlocked.Increment(ref _done) == count)
                {
                    lock (_finished)
                    {
                        Monitor.PulseAll(_finished);
                    }
                }
            }
        }

        public void WaitUntilDone()
        {
            if (Volatile.Read(ref _done) == count)
            {
                return;
            }

            lock (_finished)
            {
                while (Volatile.Read(ref _done) != count)
                {
                    Monitor.Wait(_finished);
                }
            }
        }

        public void ThrowIfFailed() => _error?.Throw();
    }
}
