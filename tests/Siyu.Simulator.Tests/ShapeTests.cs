using Siyu.Actors.Campaigns;
using Siyu.Contracts.Events;
using Siyu.Contracts.Validation;
using Xunit.Abstractions;

namespace Siyu.Simulator.Tests;

/// <summary>The traffic has the shape the domain notes describe, measured from the generated stream itself.</summary>
public sealed class ShapeTests(ITestOutputHelper output)
{
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    /// <summary>Four weeks from a Monday, small chain: every good event parsed back.</summary>
    private static (TrafficSimulator Sim, List<(SimulatedMessage Message, InputEvent Event)> Events, List<Campaign> Campaigns) Play(int days = 28, int seed = 11)
    {
        var options = new SimulationOptions { Seed = seed, Stores = 4, CustomersPerStore = 100, Days = days };
        var sim = new TrafficSimulator(options);
        var parser = new EventParser(clock: new FixedClock(options.DayStart(days + 1)));
        var events = new List<(SimulatedMessage, InputEvent)>();
        var campaigns = new List<Campaign>();
        foreach (var m in sim.Messages())
        {
            if (m.Kind == MessageKind.Campaign)
            {
                campaigns.Add(Campaign.Parse(m.Value));
            }
            else if (m.Kind == MessageKind.Event)
            {
                events.Add((m, parser.Parse(m.Value, m.Channel!.Value).Event!));
            }
        }
        return (sim, events, campaigns);
    }

    [Fact]
    public void Order_frequency_per_person_matches_the_designed_tier_mix()
    {
        var (sim, events, _) = Play();
        var byId = new Dictionary<string, Person>();
        foreach (var p in sim.Population.People)
        {
            byId[p.MemberId] = p;
            if (p.OpenId is not null)
            {
                byId[p.OpenId] = p;
            }
            if (p.DeviceId is not null)
            {
                byId[p.DeviceId] = p;
            }
        }
        var orders = sim.Population.People.ToDictionary(p => p, _ => 0);
        foreach (var (_, e) in events.Where(e => e.Event is OrderPlaced))
        {
            orders[byId[e.Ids.MemberId ?? e.Ids.OpenId ?? e.Ids.DeviceId!]]++;
        }
        // The product's thresholds (CustomerRules: mid from 2, high from 6 orders in 90 days) over four weeks.
        static Tier Observed(int n) => n >= 6 ? Tier.High : n >= 2 ? Tier.Mid : Tier.Low;
        var people = sim.Population.People;
        var means = new Dictionary<Tier, double>();
        foreach (var tier in Enum.GetValues<Tier>())
        {
            var observed = (double)people.Count(p => Observed(orders[p]) == tier) / people.Count;
            var mean = means[tier] = people.Where(p => p.Tier == tier).Average(p => orders[p]);
            output.WriteLine($"{tier}: designed {Population.TierMix[tier]:P0}, observed {observed:P0}, mean orders in 4 weeks {mean:F1}");
            Assert.InRange(observed, Population.TierMix[tier] - 0.1, Population.TierMix[tier] + 0.1);
        }
        var agree = (double)people.Count(p => Observed(orders[p]) == p.Tier) / people.Count;
        output.WriteLine($"observed tier = designed tier for {agree:P0}");
        // Four weeks of Poisson-like shopping blur the edges of the tiers, but not their order.
        Assert.True(agree > 0.6);
        Assert.True(means[Tier.High] > 3 * means[Tier.Mid] && means[Tier.Mid] > 3 * means[Tier.Low]);
    }

    [Fact]
    public void Tuesday_coupon_day_brings_about_30_percent_more_orders_and_more_new_contacts()
    {
        var (_, events, campaigns) = Play();
        var byDay = events.Where(e => e.Event.OccurredAt >= new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.FromHours(8)))
            .GroupBy(e => e.Event.OccurredAt.ToOffset(TimeSpan.FromHours(8)).DayOfWeek).ToDictionary(g => g.Key, g => g.ToList());
        double Ratio(Func<InputEvent, bool> what)
        {
            var tuesday = byDay[DayOfWeek.Tuesday].Count(e => what(e.Event));
            var others = byDay.Where(kv => kv.Key != DayOfWeek.Tuesday).Average(kv => kv.Value.Count(e => what(e.Event)));
            return tuesday / others;
        }
        var orders = Ratio(e => e is OrderPlaced);
        var contacts = Ratio(e => e is ContactAdded);
        output.WriteLine($"Tuesday vs other days: orders x{orders:F2}, new WeCom contacts x{contacts:F2}");
        Assert.InRange(orders, 1.15, 1.5);
        Assert.True(contacts > 1.5);
        Assert.Equal(4, campaigns.Count(c => c.Type == CampaignType.CouponDay));
        Assert.All(campaigns.Where(c => c.Type == CampaignType.CouponDay), c => Assert.Equal(DayOfWeek.Tuesday, c.StartsAt.DayOfWeek));
    }

    [Fact]
    public void Solitaires_fill_the_afternoon_and_flash_sales_sell_no_more_than_their_stock()
    {
        var (_, events, campaigns) = Play(days: 7);
        var joins = events.Where(e => e.Event is SolitaireJoined).ToList();
        var afternoon = joins.Count(e => e.Event.OccurredAt.ToOffset(TimeSpan.FromHours(8)).Hour is >= 14 and < 17);
        output.WriteLine($"{joins.Count} solitaire sign-ups, {afternoon} between 14:00 and 17:00");
        Assert.True(joins.Count > 100);
        Assert.Equal(joins.Count, afternoon);

        var flash = campaigns.Where(c => c.Type == CampaignType.FlashSale).ToDictionary(c => c.CampaignId);
        var claims = events.Select(e => e.Event).OfType<FlashClaimed>().ToList();
        Assert.All(claims, c => Assert.True(c.OccurredAt >= flash[c.CampaignId].StartsAt && c.OccurredAt <= flash[c.CampaignId].EndsAt));
        // Flash orders: the campaign's sku at the flash price, paid before the sale ends; never more than the stock, and sold out where enough members claimed.
        var sold = events.Select(e => e.Event).OfType<OrderPlaced>()
            .SelectMany(o => o.Items.Select(i => (o, i)))
            .Select(x => flash.Values.FirstOrDefault(c => c.StoreId == x.o.StoreId && c.HasSku(x.i.Sku)
                && x.o.OccurredAt >= c.StartsAt && x.o.OccurredAt < c.EndsAt && x.i.Price < 0.6m * Catalog.Products.First(p => p.Sku == x.i.Sku).Price))
            .Where(c => c is not null).GroupBy(c => c!.CampaignId).ToDictionary(g => g.Key, g => g.Count());
        var soldOut = 0;
        foreach (var c in flash.Values)
        {
            var n = sold.GetValueOrDefault(c.CampaignId);
            Assert.True(n <= c.Stock, $"{c.CampaignId} sold {n} of {c.Stock}");
            var claimed = claims.Count(x => x.CampaignId == c.CampaignId);
            Assert.Equal(Math.Min(claimed, c.Stock!.Value), n);
            soldOut += n == c.Stock ? 1 : 0;
        }
        output.WriteLine($"{flash.Count} flash sales, {soldOut} sold out");
        Assert.True(soldOut > flash.Count / 3);
    }

    [Fact]
    public void Messages_per_customer_day_match_the_sizing_constant()
    {
        var options = new SimulationOptions { Seed = 3, Stores = 5, CustomersPerStore = 200, Days = 7 };
        var count = TrafficSimulator.Generate(options).Count();
        var perCustomerDay = count / (double)(options.Stores * options.CustomersPerStore * options.Days);
        output.WriteLine($"{count} messages, {perCustomerDay:F2} per customer-day");
        Assert.InRange(perCustomerDay, TrafficSimulator.MessagesPerCustomerDay * 0.85, TrafficSimulator.MessagesPerCustomerDay * 1.15);
    }
}
