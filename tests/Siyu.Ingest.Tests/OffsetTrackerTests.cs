using Confluent.Kafka;

namespace Siyu.Ingest.Tests;

public sealed class OffsetTrackerTests
{
    private static readonly TopicPartition P0 = new("t", 0);

    [Fact]
    public void The_commit_position_moves_only_past_a_contiguous_run_of_completed_offsets()
    {
        var tracker = new OffsetTracker();
        foreach (var o in new long[] { 10, 11, 12, 13 })
        {
            tracker.Begin(P0, o);
        }
        Assert.Null(tracker.Complete(P0, 12));
        Assert.Null(tracker.Complete(P0, 11));
        Assert.Equal(13, tracker.Complete(P0, 10));
        Assert.Equal(14, tracker.Complete(P0, 13));
        Assert.Equal(0, tracker.InFlight(P0));
    }

    [Fact]
    public void Partitions_are_independent_and_forgotten_ones_ignore_late_completions()
    {
        var tracker = new OffsetTracker();
        var p1 = new TopicPartition("t", 1);
        tracker.Begin(P0, 0);
        tracker.Begin(p1, 0);
        Assert.Equal(1, tracker.Complete(p1, 0));
        tracker.Forget(P0);
        Assert.Null(tracker.Complete(P0, 0));
        Assert.Equal(0, tracker.InFlightTotal);
    }

    [Fact]
    public async Task An_event_can_wait_for_the_earlier_events_of_its_partition_that_are_still_under_way()
    {
        var tracker = new OffsetTracker();
        var p1 = new TopicPartition("t", 1);
        foreach (var o in new long[] { 10, 11, 12, 13 })
        {
            tracker.Begin(P0, o);
        }
        tracker.Begin(p1, 5);
        tracker.Complete(P0, 11);
        var of12 = tracker.EarlierCompleted(P0, 12);
        Assert.True(tracker.EarlierCompleted(P0, 10).IsCompleted); // nothing before it
        Assert.True(tracker.EarlierCompleted(p1, 5).IsCompleted); // P0's offsets do not count
        tracker.Complete(P0, 13); // a later one does not count either
        Assert.False(of12.IsCompleted);
        tracker.Complete(P0, 10);
        await of12.WaitAsync(TimeSpan.FromSeconds(5));

        tracker.Begin(p1, 6);
        var of7 = tracker.EarlierCompleted(p1, 7);
        tracker.Forget(p1); // revoked: the next owner re-reads them, nothing to wait for here
        await of7.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Positions_are_stored_in_increasing_order_however_completions_race()
    {
        // Four threads complete 200,000 offsets in an interleaved order; every position handed to
        // the store must be higher than the one before (a lower one after a higher one would move
        // the consumer's stored offset back and redeliver done messages), and the last is the end.
        const int count = 200_000;
        var tracker = new OffsetTracker();
        for (long o = 0; o < count; o++)
        {
            tracker.Begin(P0, o);
        }
        var stored = new List<long>();
        var backwards = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            for (long o = worker; o < count; o += 4)
            {
                tracker.Complete(P0, o, (_, next) =>
                {
                    if (stored.Count > 0 && next <= stored[^1])
                    {
                        Interlocked.Increment(ref backwards);
                    }
                    stored.Add(next);
                });
            }
        });
        Assert.Equal(0, backwards);
        Assert.Equal(count, stored[^1]);
        Assert.Equal(0, tracker.InFlightTotal);
    }
}
