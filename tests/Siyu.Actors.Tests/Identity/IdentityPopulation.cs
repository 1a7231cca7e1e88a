using System.Globalization;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Identity;

/// <summary>What one customer should hold: its strong ids (or, for a device's anonymous customer, that device), its orders and their money.</summary>
public sealed record ExpectedCustomer(string Key, IReadOnlyList<string> Orders, decimal Revenue)
{
    public override string ToString() => $"{Key}: {Orders.Count} orders, {Revenue.ToString(CultureInfo.InvariantCulture)} yuan [{string.Join(" ", Orders)}]";
}

/// <summary>
/// A generated population for the identity convergence tests: people with personal phones and
/// devices, mini-program openids and unionids, app logins, WeCom contacts and groups, and per
/// store a shared in-store tablet that several members log in and order on, plus anonymous
/// use of the tablets and of personal devices. The truth is computed here from the events
/// alone, by the rule the docs state (a customer is the strong ids events carried together; an
/// event with only a device id belongs to that device's anonymous customer), not by Siyu code.
/// </summary>
public sealed class IdentityPopulation
{
    private IdentityPopulation(List<InputEvent> events, Dictionary<string, ExpectedCustomer> expected, int tabletUsers)
    {
        Events = events;
        Expected = expected;
        TabletUsers = tabletUsers;
    }

    public IReadOnlyList<InputEvent> Events { get; }

    /// <summary>By <see cref="CustomerKey"/>.</summary>
    public IReadOnlyDictionary<string, ExpectedCustomer> Expected { get; }

    /// <summary>People who logged in on a shared tablet (the case the issue was about).</summary>
    public int TabletUsers { get; }

    public static readonly DateTimeOffset T0 = new(2026, 11, 23, 10, 0, 0, TimeSpan.FromHours(8));

    /// <summary>The key of a customer: its strong ids sorted, or "anonymous " + its weak ids when it has none.</summary>
    public static string CustomerKey(IEnumerable<LinkedIdText> ids)
    {
        var all = ids.ToList();
        var strong = all.Where(i => i.Type != IdType.DeviceId).Select(i => i.Text).Order(StringComparer.Ordinal).ToList();
        return strong.Count > 0
            ? string.Join(" ", strong)
            : "anonymous " + string.Join(" ", all.Select(i => i.Text).Order(StringComparer.Ordinal));
    }

    public readonly record struct LinkedIdText(IdType Type, string Value)
    {
        public string Text => $"{Type.WireName()}={Value}";
    }

    public static IdentityPopulation Generate(int seed, int people, int stores, string prefix = "")
    {
        var rng = new Random(seed);
        var events = new List<InputEvent>();
        var n = 0;
        var tabletUsers = 0;
        string Next() => $"{prefix}e{++n:D5}";
        DateTimeOffset At() => T0.AddMinutes(rng.Next(0, 7 * 24 * 60)); // a week of event time, in no particular order

        void Add(InputEvent e) => events.Add(e);
        InputEvent Order(CustomerIds ids, Channel channel, int store)
        {
            var id = Next();
            var amount = rng.Next(100, 40_000) / 100m;
            return new OrderPlaced
            {
                EventId = id, OccurredAt = At(), Channel = channel, StoreId = $"S{store:D3}", Ids = ids,
                OrderId = "O-" + id, Amount = amount, Items = [new LineItem("SKU-1", 1, amount)], Payment = Payment.WechatPay,
            };
        }
        T Other<T>(T e, CustomerIds ids, Channel channel) where T : InputEvent => e with { EventId = Next(), OccurredAt = At(), Channel = channel, Ids = ids };

        for (var p = 0; p < people; p++)
        {
            var store = p % stores;
            var tablet = $"{prefix}dev-TABLET-S{store:D3}";
            var member = $"{prefix}M{p:D3}";
            var phone = "h1:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(prefix + "phone" + p)));
            var union = $"{prefix}U{p:D3}";
            var openid = $"{prefix}O{p:D3}";
            var external = rng.NextDouble() < 0.6 ? $"{prefix}X{p:D3}" : null;
            var app = rng.NextDouble() < 0.6 ? $"{prefix}A{p:D3}" : null;
            var device = app is not null ? (rng.NextDouble() < 0.85 ? $"{prefix}dev-{p:D3}" : null) : (rng.NextDouble() < 0.3 ? $"{prefix}dev-{p:D3}" : null);
            var device2 = device is not null && rng.NextDouble() < 0.15 ? $"{prefix}dev-{p:D3}b" : null;

            // The till: member id, usually the phone too; sometimes the till is the store's tablet.
            for (var i = rng.Next(1, 4); i > 0; i--)
            {
                var ids = rng.NextDouble() < 0.7 ? new CustomerIds { MemberId = member, Phone = phone } : new CustomerIds { MemberId = member };
                if (rng.NextDouble() < 0.15)
                {
                    ids = ids with { DeviceId = tablet };
                }
                Add(Order(ids, Channel.Pos, store));
            }
            // The mini-program: openid and unionid; bind_phone links them to the phone.
            if (rng.NextDouble() < 0.7)
            {
                var mp = new CustomerIds { OpenId = openid, UnionId = union };
                Add(Other(new PageViewed { Page = "home" }, mp, Channel.MiniProgram));
                for (var i = rng.Next(0, 3); i > 0; i--)
                {
                    Add(Order(mp, Channel.MiniProgram, store));
                }
                if (rng.NextDouble() < 0.6)
                {
                    Add(Other(new PhoneBound(), mp with { Phone = phone }, Channel.MiniProgram));
                }
                if (rng.NextDouble() < 0.2)
                {
                    Add(Other(new PageViewed { Page = "other-app" }, new CustomerIds { OpenId = openid + "b", UnionId = union }, Channel.MiniProgram));
                }
            }
            // WeCom: the contact (with the unionid; at the till also the member id), a group.
            if (external is not null)
            {
                var wecom = rng.NextDouble() < 0.5 ? new CustomerIds { ExternalUserId = external, UnionId = union } : new CustomerIds { ExternalUserId = external, UnionId = union, MemberId = member };
                Add(Other(new ContactAdded { GuideId = $"G{store}" }, wecom, Channel.Group));
                Add(Other(new GroupJoined { GroupId = $"GR{store}" }, new CustomerIds { ExternalUserId = external }, Channel.Group));
            }
            // The app: anonymous opens on the personal device, a login, orders as the app user.
            if (device is not null)
            {
                for (var i = rng.Next(1, 4); i > 0; i--)
                {
                    Add(Other(new AppOpened(), new CustomerIds { DeviceId = device }, Channel.App));
                }
                if (app is null && rng.NextDouble() < 0.3)
                {
                    Add(Order(new CustomerIds { DeviceId = device }, Channel.App, store)); // an order nobody logged in for
                }
            }
            if (app is not null)
            {
                Add(Other(new LoggedIn(), new CustomerIds { AppUserId = app, DeviceId = device, MemberId = member }, Channel.App));
                for (var i = rng.Next(1, 3); i > 0; i--)
                {
                    Add(Order(new CustomerIds { AppUserId = app, DeviceId = device }, Channel.App, store));
                }
                if (device2 is not null)
                {
                    Add(Other(new AppOpened(), new CustomerIds { AppUserId = app, DeviceId = device2 }, Channel.App));
                }
                // The store's shared tablet: log in there, order there.
                if (rng.NextDouble() < 0.5)
                {
                    tabletUsers++;
                    Add(Other(new LoggedIn(), new CustomerIds { AppUserId = app, DeviceId = tablet, MemberId = member }, Channel.App));
                    for (var i = rng.Next(1, 3); i > 0; i--)
                    {
                        Add(Order(new CustomerIds { AppUserId = app, DeviceId = tablet }, Channel.App, store));
                    }
                }
            }
        }
        // Anonymous use of each tablet: browsing and an order by someone who never logged in.
        for (var s = 0; s < stores; s++)
        {
            var tablet = new CustomerIds { DeviceId = $"{prefix}dev-TABLET-S{s:D3}" };
            Add(Other(new AppOpened(), tablet, Channel.App));
            Add(Other(new AppOpened(), tablet, Channel.App));
            Add(Order(tablet, Channel.App, s));
        }
        return new IdentityPopulation(events, Truth(events), tabletUsers);
    }

    /// <summary>The expected customers, by union-find over the strong ids each event carries together.</summary>
    private static Dictionary<string, ExpectedCustomer> Truth(List<InputEvent> events)
    {
        var parent = new Dictionary<string, string>(StringComparer.Ordinal);
        string Find(string x)
        {
            while (parent[x] != x)
            {
                x = parent[x] = parent[parent[x]];
            }
            return x;
        }
        List<LinkedIdText> IdsOf(InputEvent e) => e.Ids.All().Select(i => new LinkedIdText(i.Type, i.Value)).ToList();
        foreach (var e in events)
        {
            var strong = IdsOf(e).Where(i => i.Type != IdType.DeviceId).Select(i => i.Text).ToList();
            foreach (var s in strong)
            {
                parent.TryAdd(s, s);
            }
            for (var i = 1; i < strong.Count; i++)
            {
                var (a, b) = (Find(strong[0]), Find(strong[i]));
                if (a != b)
                {
                    parent[a] = b;
                }
            }
        }
        var members = parent.Keys.GroupBy(Find).ToDictionary(g => g.Key, g => g.ToList());
        var orders = new Dictionary<string, List<(string Order, decimal Amount)>>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            var ids = IdsOf(e);
            var strong = ids.Where(i => i.Type != IdType.DeviceId).ToList();
            var key = strong.Count > 0
                ? CustomerKey(members[Find(strong[0].Text)].Select(Parse))
                : CustomerKey(ids); // weak only: the device's anonymous customer
            if (!orders.TryGetValue(key, out var list))
            {
                orders[key] = list = [];
            }
            if (e is OrderPlaced o)
            {
                list.Add((o.OrderId, o.Amount));
            }
        }
        return orders.ToDictionary(kv => kv.Key, kv => new ExpectedCustomer(kv.Key,
            kv.Value.Select(x => x.Order).Order(StringComparer.Ordinal).ToList(), kv.Value.Sum(x => x.Amount)), StringComparer.Ordinal);
    }

    private static LinkedIdText Parse(string text)
    {
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        IdTypeNames.TryParse(text[..eq], out var type);
        return new LinkedIdText(type, text[(eq + 1)..]);
    }

    /// <summary>Differences between what a run produced and <see cref="Expected"/>, empty when equal.</summary>
    public List<string> Mismatches(IReadOnlyDictionary<string, ExpectedCustomer> actual)
    {
        var problems = new List<string>();
        foreach (var (key, expected) in Expected)
        {
            if (!actual.TryGetValue(key, out var got))
            {
                problems.Add($"missing customer {expected}");
            }
            else if (!got.Orders.SequenceEqual(expected.Orders) || got.Revenue != expected.Revenue)
            {
                problems.Add($"expected {expected}\n     got {got}");
            }
        }
        foreach (var (key, got) in actual)
        {
            if (!Expected.ContainsKey(key))
            {
                problems.Add($"unexpected customer {got}");
            }
        }
        return problems;
    }
}
