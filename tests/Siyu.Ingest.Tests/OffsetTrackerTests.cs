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
}
