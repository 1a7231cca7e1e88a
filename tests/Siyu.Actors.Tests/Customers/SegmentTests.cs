using Siyu.Actors.Customers;

namespace Siyu.Actors.Tests.Customers;

public class SegmentTests
{
    private static readonly DateTimeOffset Now = Ev.T0.AddDays(365);
    private static readonly CustomerRules Rules = CustomerRules.Default;

    private static Customer WithOrdersAt(params DateTimeOffset[] times)
    {
        var c = new Customer();
        for (var i = 0; i < times.Length; i++)
        {
            c.Observe(Ev.Order($"O{i}", 10m, times[i]));
        }
        return c;
    }

    private static DateTimeOffset[] DaysAgo(params double[] days) => days.Select(d => Now.AddDays(-d)).ToArray();

    [Theory]
    [InlineData(0, Frequency.Low)]
    [InlineData(1, Frequency.Low)]
    [InlineData(2, Frequency.Mid)]
    [InlineData(5, Frequency.Mid)]
    [InlineData(6, Frequency.High)]
    [InlineData(9, Frequency.High)]
    public void Frequency_tiers_by_orders_in_the_trailing_90_days(int orders, Frequency expected)
    {
        var c = WithOrdersAt(Enumerable.Range(0, orders).Select(i => Now.AddDays(-i * 10)).ToArray());
        Assert.Equal(expected, Segments.FrequencyOf(c.State, Now, Rules));
    }

    [Fact]
    public void The_frequency_window_includes_its_first_instant_and_nothing_before()
    {
        var atEdge = WithOrdersAt(DaysAgo(1, 90));
        Assert.Equal(Frequency.Mid, Segments.FrequencyOf(atEdge.State, Now, Rules));

        var justOutside = WithOrdersAt([Now.AddDays(-1), Now.AddDays(-90).AddSeconds(-1)]);
        Assert.Equal(Frequency.Low, Segments.FrequencyOf(justOutside.State, Now, Rules));
    }

    [Fact]
    public void Frequency_thresholds_and_window_are_configurable()
    {
        var rules = Rules with { MidFrequencyMinOrders = 3, HighFrequencyMinOrders = 10, FrequencyWindow = TimeSpan.FromDays(30) };
        var c = WithOrdersAt(DaysAgo(1, 2, 40));
        Assert.Equal(Frequency.Low, Segments.FrequencyOf(c.State, Now, rules)); // only 2 within 30 days, 3 needed
        Assert.Equal(Frequency.Mid, Segments.FrequencyOf(c.State, Now, Rules));
    }

    [Fact]
    public void State_is_new_without_orders_or_while_the_first_order_is_recent()
    {
        Assert.Equal(LifecycleState.New, Segments.StateOf(new Customer().ObserveAll(Ev.PageView(Now.AddDays(-500))).State.Stats, Now, Rules));
        Assert.Equal(LifecycleState.New, Segments.StateOf(WithOrdersAt(DaysAgo(30)).State.Stats, Now, Rules));
        Assert.Equal(LifecycleState.Active, Segments.StateOf(WithOrdersAt([Now.AddDays(-30).AddSeconds(-1)]).State.Stats, Now, Rules));
    }

    [Theory]
    [InlineData(0, LifecycleState.Active)]
    [InlineData(60 * 86400, LifecycleState.Active)]
    [InlineData(60 * 86400 + 1, LifecycleState.AtRisk)]
    [InlineData(180 * 86400, LifecycleState.AtRisk)]
    [InlineData(180 * 86400 + 1, LifecycleState.Lapsed)]
    public void State_moves_to_at_risk_after_60_days_and_lapsed_after_180(int secondsSinceLastOrder, LifecycleState expected)
    {
        // A usual interval of 20 days: 2 x 20 and 4 x 20 are under the floors, which decide here
        // (ChurnTests cover k x interval).
        var last = Now.AddSeconds(-secondsSinceLastOrder);
        var c = WithOrdersAt([last.AddDays(-40), last.AddDays(-20), last]);
        Assert.Equal(expected, Segments.StateOf(c.State.Stats, Now, Rules));
    }

    [Fact]
    public void Segment_depends_on_the_now_passed_in_not_on_the_clock()
    {
        var c = WithOrdersAt(Ev.T0, Ev.T0.AddDays(40));
        Assert.Equal(new Segment(Frequency.Mid, LifecycleState.Active), Segments.Of(c.State, Ev.T0.AddDays(41), Rules));
        // usual interval 40 days: at_risk after max(60, 2 x 40) = 80 days without an order
        Assert.Equal(new Segment(Frequency.Low, LifecycleState.Active), Segments.Of(c.State, Ev.T0.AddDays(101), Rules));
        Assert.Equal(new Segment(Frequency.Low, LifecycleState.AtRisk), Segments.Of(c.State, Ev.T0.AddDays(121), Rules));
        Assert.Equal(new Segment(Frequency.Low, LifecycleState.Lapsed), Segments.Of(c.State, Ev.T0.AddDays(300), Rules));
    }

    [Fact]
    public void Rules_validation_catches_inconsistent_settings()
    {
        Assert.Empty(CustomerRules.Default.Problems());
        Assert.Same(CustomerRules.Default, CustomerRules.Default.Validate());
        var bad = Rules with
        {
            MidFrequencyMinOrders = 6,
            HighFrequencyMinOrders = 6,
            LapsedAfter = TimeSpan.FromDays(30),
            MaxRecentOrders = 3,
            IdLimits = new Dictionary<Siyu.Contracts.Events.IdType, int>(),
        };
        var problems = bad.Problems();
        Assert.Contains(problems, p => p.Contains("frequency thresholds", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("LapsedAfter", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("MaxRecentOrders", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("device_id", StringComparison.Ordinal));
        Assert.Throws<ArgumentException>(() => bad.Validate());
    }
}
