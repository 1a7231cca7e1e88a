namespace Siyu.Actors.Customers;

public enum Frequency
{
    Low,
    Mid,
    High,
}

/// <summary>segment.state of the contract.</summary>
public enum LifecycleState
{
    New,
    Active,
    AtRisk,
    Lapsed,
}

public readonly record struct Segment(Frequency Frequency, LifecycleState State);

/// <summary>
/// Customer segmentation (客户分层). Pure: computed from the orders' occurred_at and a "now"
/// the caller passes (the actor's clock), never from the machine clock, so the same state
/// and the same now always give the same segment. Every bound is inclusive of "within":
/// an order exactly FrequencyWindow old still counts, a first order exactly NewCustomerWindow
/// old is still new, and a customer becomes at_risk / lapsed only when the last order is
/// strictly older than AtRiskAfter / LapsedAfter.
/// </summary>
public static class Segments
{
    public static Segment Of(CustomerState state, DateTimeOffset now, CustomerRules rules) =>
        new(FrequencyOf(state, now, rules), StateOf(state.Stats, now, rules));

    /// <summary>
    /// Placed orders (refunded or not) with occurred_at in [now - window, ∞). The retained orders
    /// cover the window (the rules require RecentOrderHorizon >= FrequencyWindow), and when more
    /// than MaxRecentOrders fall inside it the count is still >= HighFrequencyMinOrders.
    /// </summary>
    public static Frequency FrequencyOf(CustomerState state, DateTimeOffset now, CustomerRules rules)
    {
        var from = now - rules.FrequencyWindow;
        var n = 0;
        foreach (var o in state.RecentOrders.AsSpan())
        {
            if (o.OccurredAt >= from)
            {
                n++;
            }
        }
        return n >= rules.HighFrequencyMinOrders ? Frequency.High
            : n >= rules.MidFrequencyMinOrders ? Frequency.Mid
            : Frequency.Low;
    }

    public static LifecycleState StateOf(OrderStats stats, DateTimeOffset now, CustomerRules rules)
    {
        if (stats.FirstOrderAt is not { } first || now - first <= rules.NewCustomerWindow)
        {
            return LifecycleState.New;
        }
        var since = now - (stats.LastOrderAt ?? first);
        var (atRisk, lapsed) = Thresholds(stats, rules);
        return since > lapsed ? LifecycleState.Lapsed
            : since > atRisk ? LifecycleState.AtRisk
            : LifecycleState.Active;
    }

    /// <summary>
    /// Churn thresholds for this customer: k times the usual interval between orders
    /// ((last - first) / (orders - 1)), at least the floors AtRiskAfter / LapsedAfter. A customer
    /// who buys every 4 months is not at risk after 2; one with a single order gets the floors.
    /// </summary>
    public static (TimeSpan AtRisk, TimeSpan Lapsed) Thresholds(OrderStats stats, CustomerRules rules)
    {
        if (stats.Orders < 2 || stats.FirstOrderAt is not { } first || stats.LastOrderAt is not { } last || last <= first)
        {
            return (rules.AtRiskAfter, rules.LapsedAfter);
        }
        var usual = (last - first) / (stats.Orders - 1);
        return (Max(rules.AtRiskAfter, usual * rules.ChurnFactor), Max(rules.LapsedAfter, usual * rules.LapsedFactor));
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    public static string WireName(this Frequency frequency) => frequency switch
    {
        Frequency.Low => "low",
        Frequency.Mid => "mid",
        Frequency.High => "high",
        _ => throw new ArgumentOutOfRangeException(nameof(frequency), frequency, null),
    };

    public static string WireName(this LifecycleState state) => state switch
    {
        LifecycleState.New => "new",
        LifecycleState.Active => "active",
        LifecycleState.AtRisk => "at_risk",
        LifecycleState.Lapsed => "lapsed",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };
}
