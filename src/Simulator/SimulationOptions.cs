namespace Siyu.Simulator;

/// <summary>
/// What to simulate. The same options (seed included) always give the same messages, byte for
/// byte: nothing here reads the wall clock, and pacing (events/s) is applied afterwards by
/// <see cref="Pacing"/>, so it cannot change the content.
/// </summary>
public sealed record SimulationOptions
{
    public int Seed { get; init; } = 42;

    /// <summary>Stores of the chain; each has 3-4 WeCom groups and 2-4 guides.</summary>
    public int Stores { get; init; } = 10;

    /// <summary>Customers whose home is each store (members of the loyalty programme).</summary>
    public int CustomersPerStore { get; init; } = 120;

    /// <summary>First simulated day (local date at <see cref="UtcOffset"/>). A Monday by default, so a week shows the Tuesday coupon day.</summary>
    public DateOnly Start { get; init; } = new(2026, 11, 2);

    /// <summary>Simulated days; 0 = endless (the enumeration never ends).</summary>
    public int Days { get; init; } = 7;

    /// <summary>The chain's local time (China Standard Time); events carry this offset.</summary>
    public TimeSpan UtcOffset { get; init; } = TimeSpan.FromHours(8);

    /// <summary>The weekly group-only coupon day (国民水果节).</summary>
    public DayOfWeek CouponDay { get; init; } = DayOfWeek.Tuesday;

    /// <summary>Share of events delivered 2-45 simulated minutes after they occurred (an offline till, a phone in a tunnel).</summary>
    public double LateRatio { get; init; } = 0.01;

    /// <summary>Share of events delivered twice (a producer retry): same bytes, same key.</summary>
    public double DuplicateRatio { get; init; } = 0.005;

    /// <summary>Broken messages per valid event, each with the reject reason it is meant to get.</summary>
    public double MalformedRatio { get; init; } = 0.003;

    /// <summary>Topic prefix (contract: default "siyu.").</summary>
    public string TopicPrefix { get; init; } = "siyu.";

    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Stores is < 1 or > 100_000)
        {
            problems.Add($"stores must be between 1 and 100000 (got {Stores})");
        }
        if (CustomersPerStore is < 1 or > 100_000)
        {
            problems.Add($"customers per store must be between 1 and 100000 (got {CustomersPerStore})");
        }
        if ((long)Stores * CustomersPerStore > 10_000_000)
        {
            problems.Add($"stores x customers per store must be at most 10,000,000 (got {(long)Stores * CustomersPerStore:N0})");
        }
        if (Days < 0)
        {
            problems.Add($"days must be 0 (endless) or more (got {Days})");
        }
        if (UtcOffset < TimeSpan.FromHours(-14) || UtcOffset > TimeSpan.FromHours(14) || UtcOffset.Seconds != 0)
        {
            problems.Add($"the UTC offset must be whole minutes between -14:00 and +14:00 (got {UtcOffset})");
        }
        foreach (var (name, value) in new[] { ("late ratio", LateRatio), ("duplicate ratio", DuplicateRatio), ("malformed ratio", MalformedRatio) })
        {
            if (value is < 0 or > 0.5 || double.IsNaN(value))
            {
                problems.Add($"{name} must be between 0 and 0.5 (got {value})");
            }
        }
        return problems;
    }

    public SimulationOptions Validate()
    {
        var problems = Problems();
        return problems.Count == 0 ? this : throw new ArgumentException("invalid simulation options: " + string.Join("; ", problems));
    }

    /// <summary>Midnight of simulated day <paramref name="day"/> (0-based) in local time.</summary>
    public DateTimeOffset DayStart(int day) => new(Start.AddDays(day).ToDateTime(TimeOnly.MinValue), UtcOffset);
}
