using System.Globalization;
using System.Text;

namespace Siyu.Reliability.Tests.Support;

/// <summary>A person of the scenario and what their customer must hold: their orders only.</summary>
public sealed record TabletPerson(string MemberId, string? AppUserId, string? OpenId, bool UsedTablet, IReadOnlyList<string> Orders, decimal Revenue);

/// <summary>
/// Issue 18's scenario: members who each log in on one shared in-store tablet
/// (<see cref="Tablet"/>) and order on it as app users, beside their till, mini-program and
/// WeCom activity, and anonymous use of the tablet and of personal devices; written as one JSON
/// Lines file per channel, to be produced all at once. Half of the tablet logins come last in the
/// app file (a login synced late), after that member's tablet orders. The truth is built with
/// the events: every order belongs to the person whose strong ids it carries; an order carrying
/// only the tablet's device id belongs to nobody's profile.
/// </summary>
public sealed class TabletScenario
{
    public const string Tablet = "dev-TABLET-S001";

    public IReadOnlyDictionary<string, List<string>> Files { get; }
    public IReadOnlyList<TabletPerson> People { get; }
    public int Events { get; }
    public int AnonymousOrders { get; }

    private TabletScenario(Dictionary<string, List<string>> files, List<TabletPerson> people, int anonymousOrders)
    {
        Files = files;
        People = people;
        Events = files.Values.Sum(f => f.Count);
        AnonymousOrders = anonymousOrders;
    }

    public static TabletScenario Generate(int seed, int tabletMembers, int others, string prefix)
    {
        var rng = new Random(seed);
        var start = DateTimeOffset.UtcNow.AddHours(-3).ToOffset(TimeSpan.FromHours(8));
        var files = new Dictionary<string, List<string>> { ["pos"] = [], ["miniprogram"] = [], ["app"] = [], ["group"] = [] };
        var late = new List<string>(); // app lines delivered after everything else in the app file
        var people = new List<TabletPerson>();
        var n = 0;
        string Time(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+08:00'", CultureInfo.InvariantCulture);
        string Money(decimal d) => d.ToString("0.00", CultureInfo.InvariantCulture);
        string Line(string channel, string type, DateTimeOffset at, string ids, string fields = "")
        {
            var id = $"{prefix}-{channel}-{++n:D6}";
            return $$"""{"event_id":"{{id}}","type":"{{type}}","occurred_at":"{{Time(at)}}","store_id":"S001","ids":{{ids}}{{fields}}}""";
        }
        (string Line, string OrderId, decimal Amount) Order(string channel, DateTimeOffset at, string ids)
        {
            var amount = rng.Next(100, 60_000) / 100m;
            var orderId = $"O-{prefix}-{n + 1:D6}";
            var fields = $$""","order_id":"{{orderId}}","amount":{{Money(amount)}},"items":[{"sku":"FRUIT-1","qty":1,"price":{{Money(amount)}}}],"payment":"wechat_pay" """.TrimEnd();
            return (Line(channel, "order", at, ids, fields), orderId, amount);
        }

        for (var p = 0; p < tabletMembers + others; p++)
        {
            var onTablet = p < tabletMembers;
            var member = $"{prefix}-M{p:D4}";
            var phone = $"139{seed % 1000:D3}{p:D5}";
            var openid = rng.NextDouble() < 0.7 ? $"{prefix}-o{p:D4}" : null;
            var union = $"{prefix}-u{p:D4}";
            var app = onTablet || rng.NextDouble() < 0.4 ? $"{prefix}-A{p:D4}" : null;
            var device = app is not null && rng.NextDouble() < 0.8 ? $"{prefix}-dev-{p:D4}" : null;
            var orders = new List<(string Id, decimal Amount)>();
            var t = start.AddMinutes(rng.Next(0, 60));
            DateTimeOffset Later() => t = t.AddMinutes(rng.Next(1, 20));

            for (var i = rng.Next(1, 4); i > 0; i--)
            {
                var o = Order("pos", Later(), $$"""{"member_id":"{{member}}","phone":"{{phone}}"}""");
                files["pos"].Add(o.Line);
                orders.Add((o.OrderId, o.Amount));
            }
            if (openid is not null)
            {
                var mp = $$"""{"openid":"{{openid}}","unionid":"{{union}}"}""";
                files["miniprogram"].Add(Line("miniprogram", "page_view", Later(), mp, ""","page":"home" """.TrimEnd()));
                for (var i = rng.Next(1, 3); i > 0; i--)
                {
                    var o = Order("miniprogram", Later(), mp);
                    files["miniprogram"].Add(o.Line);
                    orders.Add((o.OrderId, o.Amount));
                }
                // The first order binds the phone: that is what ties the mini-program to the member.
                files["miniprogram"].Add(Line("miniprogram", "bind_phone", Later(), $$"""{"openid":"{{openid}}","unionid":"{{union}}","phone":"{{phone}}"}"""));
                if (rng.NextDouble() < 0.5)
                {
                    files["group"].Add(Line("group", "contact_added", Later(), $$"""{"external_userid":"{{prefix}}-x{{p:D4}}","unionid":"{{union}}"}""", ""","guide_id":"G1" """.TrimEnd()));
                }
            }
            if (device is not null)
            {
                // Anonymous opens on a personal device, then a login there.
                files["app"].Add(Line("app", "app_open", Later(), $$"""{"device_id":"{{device}}"}"""));
                files["app"].Add(Line("app", "login", Later(), $$"""{"member_id":"{{member}}","app_user_id":"{{app}}","device_id":"{{device}}"}"""));
                var o = Order("app", Later(), $$"""{"app_user_id":"{{app}}","device_id":"{{device}}"}""");
                files["app"].Add(o.Line);
                orders.Add((o.OrderId, o.Amount));
            }
            if (onTablet)
            {
                // The shared tablet: log in, then order there as the app user (keyed by it, so the
                // orders and the login travel in different partitions).
                var login = Line("app", "login", Later(), $$"""{"member_id":"{{member}}","app_user_id":"{{app}}","device_id":"{{Tablet}}"}""");
                var tabletOrders = new List<string>();
                for (var i = rng.Next(2, 4); i > 0; i--)
                {
                    var o = Order("app", Later(), $$"""{"app_user_id":"{{app}}","device_id":"{{Tablet}}"}""");
                    tabletOrders.Add(o.Line);
                    orders.Add((o.OrderId, o.Amount));
                }
                if (p % 2 == 0)
                {
                    late.Add(login);
                }
                else
                {
                    files["app"].Add(login);
                }
                files["app"].AddRange(tabletOrders);
            }
            // An app user id nobody used in an event is not theirs to look up by.
            people.Add(new TabletPerson(member, device is not null || onTablet ? app : null, openid, onTablet, orders.Select(o => o.Id).ToList(), orders.Sum(o => o.Amount)));
        }
        // Anonymous use of the tablet: browsing, and orders by shoppers who never logged in.
        var anonymous = 0;
        for (var i = 0; i < 30; i++)
        {
            var at = start.AddMinutes(rng.Next(0, 180));
            if (i % 10 == 0)
            {
                files["app"].Add(Order("app", at, $$"""{"device_id":"{{Tablet}}"}""").Line);
                anonymous++;
            }
            else
            {
                files["app"].Add(Line("app", "app_open", at, $$"""{"device_id":"{{Tablet}}"}"""));
            }
        }
        files["app"].AddRange(late);
        return new TabletScenario(files, people, anonymous);
    }

    /// <summary>Writes the files (one per channel) into <paramref name="dir"/>; returns (channel, path).</summary>
    public List<(string Channel, string Path)> Write(string dir)
    {
        var written = new List<(string, string)>();
        foreach (var (channel, lines) in Files)
        {
            var path = System.IO.Path.Combine(dir, channel + ".jsonl");
            File.WriteAllText(path, string.Join('\n', lines) + "\n", new UTF8Encoding(false));
            written.Add((channel, path));
        }
        return written;
    }
}
