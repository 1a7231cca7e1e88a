using Siyu.Ingest;
using Xunit;

namespace Siyu.Ingest.Tests;

public class InFlightLimitTests
{
    [Fact]
    public void A_failure_halves_the_bound_once_per_interval_and_successes_grow_it_back_to_the_maximum()
    {
        long now = 0;
        var limit = new InFlightLimit(max: 100, min: 10, nowMs: () => now);

        limit.Failed();
        Assert.Equal(50, limit.Limit);
        limit.Failed(); // the same overload failing many messages at once halves only once
        Assert.Equal(50, limit.Limit);

        now += (long)InFlightLimit.DecreaseInterval.TotalMilliseconds;
        limit.Failed();
        Assert.Equal(25, limit.Limit);
        for (var i = 0; i < 4; i++)
        {
            now += 1_000;
            limit.Failed();
        }
        Assert.Equal(10, limit.Limit); // never below the floor

        for (var i = 0; i < 200; i++)
        {
            limit.Wait(CancellationToken.None);
            limit.Release(succeeded: true);
        }
        Assert.Equal(100, limit.Limit); // never above the configured maximum
    }

    [Fact]
    public async Task Taking_blocks_at_the_bound_until_a_message_is_released()
    {
        var limit = new InFlightLimit(max: 2, min: 1);
        limit.Wait(CancellationToken.None);
        limit.Wait(CancellationToken.None);

        var third = Task.Run(() => limit.Wait(CancellationToken.None));
        Assert.False(await Finishes(third, 300));
        limit.Release(succeeded: false);
        Assert.True(await Finishes(third, 5_000));
        Assert.Equal(2, limit.InFlight);
    }

    [Fact]
    public async Task A_shrunken_bound_holds_back_new_messages_until_enough_have_finished()
    {
        var limit = new InFlightLimit(max: 4, min: 1);
        for (var i = 0; i < 4; i++)
        {
            limit.Wait(CancellationToken.None);
        }
        limit.Failed(); // bound 2 while 4 are in flight

        var next = Task.Run(() => limit.Wait(CancellationToken.None));
        limit.Release(succeeded: false);
        limit.Release(succeeded: false);
        Assert.False(await Finishes(next, 300)); // 2 in flight = the bound
        limit.Release(succeeded: false);
        Assert.True(await Finishes(next, 5_000));
    }

    [Fact]
    public void Waiting_stops_when_cancelled()
    {
        var limit = new InFlightLimit(max: 1);
        limit.Wait(CancellationToken.None);
        using var cts = new CancellationTokenSource(200);
        Assert.Throws<OperationCanceledException>(() => limit.Wait(cts.Token));
    }

    private static async Task<bool> Finishes(Task task, int ms) => await Task.WhenAny(task, Task.Delay(ms)) == task;
}
