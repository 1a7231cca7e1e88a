namespace Siyu.Simulator;

/// <summary>One simulated day being planned: its date, its random stream and its campaigns per store.</summary>
internal sealed class Day
{
    public Day(int index, SimulationOptions options)
    {
        Index = index;
        Start = options.DayStart(index);
        Date = DateOnly.FromDateTime(Start.DateTime);
        IsCouponDay = Date.DayOfWeek == options.CouponDay;
        // A stream per day: day N is the same whatever ran before it in this process.
        Rng = new Random(unchecked(options.Seed * 1_000_003 + index * 7919 + 17));
    }

    public int Index { get; }
    public DateTimeOffset Start { get; }
    public DateOnly Date { get; }
    public bool IsCouponDay { get; }
    public Random Rng { get; }

    /// <summary>Purchase intent multiplier: the coupon day brings about 30% more sales (domain: Tuesday sales +30%).</summary>
    public double Boost => IsCouponDay ? 1.3 : 1.0;

    public string? CouponCampaignId { get; set; }
    public Dictionary<string, StoreDay> Stores { get; } = [];
    public int ValidEvents { get; set; }

    public double Uniform(double from, double to) => from + (Rng.NextDouble() * (to - from));

    public bool Chance(double p) => Rng.NextDouble() < p;

    public T Pick<T>(IReadOnlyList<T> items) => items[Rng.Next(items.Count)];

    /// <summary>A local time between two hours of the day.</summary>
    public DateTimeOffset Between(double fromHour, double toHour) => Start + TimeSpan.FromHours(Uniform(fromHour, toHour));

    /// <summary>Exponentially distributed delay (most sign-ups come right after a campaign is posted), capped.</summary>
    public TimeSpan Exponential(TimeSpan mean, TimeSpan cap)
    {
        var t = TimeSpan.FromTicks((long)(-mean.Ticks * Math.Log(1 - Rng.NextDouble())));
        return t < cap ? t : cap;
    }
}

/// <summary>A store's campaigns of the day.</summary>
internal sealed record StoreDay(
    Product NewArrival,
    string SolitaireId,
    Product Solitaire,
    string FlashId,
    Product Flash,
    decimal FlashPrice,
    int FlashStock,
    DateTimeOffset FlashStart,
    DateTimeOffset FlashEnd)
{
    public List<(DateTimeOffset At, Person Person)> FlashClaims { get; } = [];
}
