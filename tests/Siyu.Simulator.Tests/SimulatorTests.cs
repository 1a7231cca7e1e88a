using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Siyu.Actors.Campaigns;
using Siyu.Contracts;
using Siyu.Contracts.Events;
using Siyu.Contracts.Validation;
using Xunit.Abstractions;

namespace Siyu.Simulator.Tests;

public sealed class SimulatorTests(ITestOutputHelper output)
{
    private static readonly SimulationOptions Week = new() { Seed = 7, Stores = 4, CustomersPerStore = 100, Days = 7 };

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static EventParser ParserAfter(SimulationOptions o) => new(clock: new FixedClock(o.DayStart(o.Days + 1)));

    [Fact]
    public void The_same_seed_and_options_give_byte_identical_messages_and_another_seed_does_not()
    {
        static string Digest(SimulationOptions o)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var m in TrafficSimulator.Generate(o))
            {
                hash.AppendData(Encoding.UTF8.GetBytes($"{m.Topic}|{m.At:O}|{m.Kind}|{m.ExpectedReason}|"));
                hash.AppendData(m.Key ?? []);
                hash.AppendData("|"u8);
                hash.AppendData(m.Value);
                hash.AppendData("\n"u8);
            }
            return Convert.ToHexString(hash.GetHashAndReset());
        }
        var options = Week with { Days = 2 };
        Assert.Equal(Digest(options), Digest(options with { }));
        Assert.NotEqual(Digest(options), Digest(options with { Seed = 8 }));
    }

    [Fact]
    public void Messages_come_in_delivery_order_and_every_good_event_parses_with_the_product_parser()
    {
        var parser = ParserAfter(Week);
        var topics = new Topics(Week.TopicPrefix);
        var last = DateTimeOffset.MinValue;
        var firstDelivery = new Dictionary<string, byte[]>();
        var counts = new Dictionary<MessageKind, int>();
        foreach (var m in TrafficSimulator.Generate(Week))
        {
            Assert.True(m.At >= last, $"{m.At:O} delivered after {last:O}");
            last = m.At;
            counts[m.Kind] = counts.GetValueOrDefault(m.Kind) + 1;
            if (m.Kind == MessageKind.Campaign)
            {
                Assert.Equal(topics.Campaigns, m.Topic);
                var campaign = Campaign.Parse(m.Value);
                Assert.Equal(campaign.CampaignId, Encoding.UTF8.GetString(m.Key!));
                continue;
            }
            Assert.True(topics.TryGetChannel(m.Topic, out var channel));
            Assert.Equal(m.Channel, channel);
            var result = parser.Parse(m.Value, channel);
            switch (m.Kind)
            {
                case MessageKind.Event:
                    Assert.True(result.IsValid, $"{Encoding.UTF8.GetString(m.Value)}: {result.Reason} {result.Error}");
                    Assert.True(firstDelivery.TryAdd(result.Event.EventId, m.Value), $"event_id {result.Event.EventId} used twice");
                    Assert.True(m.Late || result.Event.OccurredAt == m.At, "an on-time event is delivered when it occurs");
                    Assert.True(result.Event.OccurredAt <= m.At, "nothing is delivered before it occurs");
                    break;
                case MessageKind.Duplicate:
                    Assert.True(result.IsValid);
                    Assert.Equal(firstDelivery[result.Event.EventId], m.Value);
                    break;
                case MessageKind.Invalid when TrafficSimulator.EntityReasons.Contains(m.ExpectedReason!):
                    Assert.True(result.IsValid, $"{m.ExpectedReason} messages pass the parser; the customer entity refuses them");
                    break;
                case MessageKind.Invalid:
                    Assert.False(result.IsValid, Encoding.UTF8.GetString(m.Value));
                    Assert.Equal(m.ExpectedReason, result.Reason);
                    break;
            }
        }
        output.WriteLine(string.Join(", ", counts.Select(kv => $"{kv.Key}: {kv.Value}")));
        var events = counts[MessageKind.Event];
        Assert.InRange(counts[MessageKind.Duplicate], events * 0.002, events * 0.01);
        Assert.InRange(counts[MessageKind.Invalid], events * 0.0015, events * 0.006);
    }

    [Fact]
    public void Every_kind_of_broken_message_is_generated_and_rejected_for_its_intended_reason()
    {
        var options = Week with { MalformedRatio = 0.05, Days = 2 };
        var parser = ParserAfter(options);
        var seen = new Dictionary<string, int>();
        foreach (var m in TrafficSimulator.Generate(options).Where(m => m.Kind == MessageKind.Invalid))
        {
            seen[m.ExpectedReason!] = seen.GetValueOrDefault(m.ExpectedReason!) + 1;
            var result = parser.Parse(m.Value, m.Channel!.Value);
            if (TrafficSimulator.EntityReasons.Contains(m.ExpectedReason!))
            {
                Assert.True(result.IsValid);
                Assert.IsType<OrderRefunded>(result.Event);
            }
            else
            {
                Assert.Equal(m.ExpectedReason, result.Reason);
            }
        }
        output.WriteLine(string.Join(", ", seen.Select(kv => $"{kv.Key}: {kv.Value}")));
        Assert.Equal(TrafficSimulator.IntendedReasons.Order(), seen.Keys.Order());
    }

    [Fact]
    public void Refunds_follow_their_orders_and_unmatched_refunds_name_orders_never_sent()
    {
        var parser = ParserAfter(Week);
        var orders = new HashSet<string>();
        var refunds = 0;
        foreach (var m in TrafficSimulator.Generate(Week).Where(m => m.Kind is MessageKind.Event or MessageKind.Invalid && m.Channel is not null))
        {
            var r = parser.Parse(m.Value, m.Channel!.Value);
            if (!r.IsValid)
            {
                continue;
            }
            if (r.Event is OrderPlaced o)
            {
                orders.Add(o.OrderId);
            }
            else if (r.Event is OrderRefunded f)
            {
                Assert.Equal(m.ExpectedReason != RejectReason.RefundUnmatched, orders.Contains(f.OrderId));
                refunds++;
            }
        }
        output.WriteLine($"{orders.Count} orders, {refunds} refunds");
        Assert.InRange(refunds, orders.Count * 0.015, orders.Count * 0.05);
    }

    [Fact]
    public void Ids_link_as_designed_never_across_people()
    {
        var options = Week with { Days = 14 };
        var sim = new TrafficSimulator(options);
        var parser = ParserAfter(options);
        var owner = new Dictionary<string, Person>();
        foreach (var p in sim.Population.People)
        {
            foreach (var id in new[] { p.MemberId, p.Phone, p.OpenId, p.UnionId, p.ExternalUserId, p.DeviceId, p.AppUserId })
            {
                if (id is not null)
                {
                    owner.Add(id, p);
                }
            }
        }
        var links = new UnionFind();
        foreach (var m in sim.Messages().Where(m => m.Kind == MessageKind.Event))
        {
            var ids = parser.Parse(m.Value, m.Channel!.Value).Event!.Ids.All().Select(i => i.Value).ToList();
            foreach (var id in ids)
            {
                Assert.True(owner.ContainsKey(id), $"id {id} belongs to nobody");
                links.Union(ids[0], id);
            }
        }
        // No event ever joins two people.
        foreach (var component in owner.Keys.Where(links.Contains).GroupBy(links.Find))
        {
            Assert.Single(component.Select(id => owner[id]).Distinct());
        }
        // Each linking step the simulation took shows in the stream, and nothing links what it did not.
        var people = sim.Population.People;
        foreach (var p in people)
        {
            if (p.LoggedIn)
            {
                Assert.True(links.Same(p.AppUserId!, p.MemberId), $"{p.MemberId} logged in to the app");
                Assert.True(links.Same(p.DeviceId!, p.MemberId));
            }
            else if (p.UsesApp)
            {
                Assert.False(links.Same(p.DeviceId!, p.MemberId), $"{p.MemberId} never logged in");
            }
            if (p.PhoneBound)
            {
                Assert.True(links.Same(p.OpenId!, p.Phone), $"{p.MemberId} bound the phone in the mini-program");
            }
            if (p.ContactLinkedToMember)
            {
                Assert.True(links.Same(p.ExternalUserId, p.MemberId), $"{p.MemberId} was added on WeCom at the till");
            }
            if (p.UsesMiniProgram && p.SeenInWeCom)
            {
                Assert.True(links.Same(p.ExternalUserId, p.UnionId!), "WeCom events carry the unionid");
            }
        }
        // The share of people seen in two or more channels whose channels are joined into one customer.
        var seen = people.Where(p => links.Contains(p.MemberId) || links.Contains(p.ExternalUserId) || (p.OpenId is not null && links.Contains(p.OpenId))).ToList();
        double Share(Func<Person, bool> f) => (double)seen.Count(f) / seen.Count;
        var multiChannel = Share(p => Channels(p, links) >= 2);
        output.WriteLine($"{seen.Count} people seen; linked across 2+ channels {multiChannel:P0}; logged in {Share(p => p.LoggedIn):P0}, phone bound {Share(p => p.PhoneBound):P0}, WeCom with member id {Share(p => p.ContactLinkedToMember):P0}");
        Assert.InRange(multiChannel, 0.3, 0.8);
        Assert.InRange(Share(p => p.LoggedIn), 0.03, 0.25);
        Assert.InRange(Share(p => p.PhoneBound), 0.15, 0.7);
        Assert.InRange(Share(p => p.ContactLinkedToMember), 0.1, 0.6);
    }

    /// <summary>How many of the person's channels (POS, mini-program, app, WeCom) are joined to their member id in the stream.</summary>
    private static int Channels(Person p, UnionFind links)
    {
        var anchor = new[] { p.MemberId, p.ExternalUserId, p.OpenId, p.DeviceId }.FirstOrDefault(id => id is not null && links.Contains(id))!;
        var n = 0;
        foreach (var id in new[] { p.MemberId, p.OpenId, p.DeviceId, p.ExternalUserId })
        {
            if (id is not null && links.Contains(id) && links.Same(id, anchor))
            {
                n++;
            }
        }
        return n;
    }

    private sealed class UnionFind
    {
        private readonly Dictionary<string, string> _parent = [];

        public bool Contains(string id) => _parent.ContainsKey(id);

        public string Find(string id)
        {
            _parent.TryAdd(id, id);
            while (_parent[id] != id)
            {
                _parent[id] = _parent[_parent[id]];
                id = _parent[id];
            }
            return id;
        }

        public void Union(string a, string b)
        {
            var (ra, rb) = (Find(a), Find(b));
            if (ra != rb)
            {
                _parent[ra] = rb;
            }
        }

        public bool Same(string a, string b) => Contains(a) && Contains(b) && Find(a) == Find(b);
    }
}
