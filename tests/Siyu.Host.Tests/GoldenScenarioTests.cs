using Microsoft.Extensions.DependencyInjection;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;
using Siyu.Kafka;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Embedded;
using Siyu.Tests.Shared;
using Xunit.Abstractions;

namespace Siyu.Host.Tests;

/// <summary>
/// The golden scenario of issue 5, through the real pipeline (embedded Kafka → ingest → customer
/// actors with a SQLite journal → ClickHouse on chDB): a flash sale and a solitaire in two stores;
/// orders by every attribution rule; guide credit including wecom_collect; full and partial refunds;
/// late and out-of-order events; a customer merge; a redelivered batch and a restart that re-reads
/// uncommitted offsets. What ClickHouse shows must equal what <see cref="Expected"/> computes from the
/// input events alone, and every dashboard panel must return rows on that data.
/// </summary>
[Collection(NodeCollection.Name)]
public sealed class GoldenScenarioTests(NodeFixture fixture, ITestOutputHelper output)
{
    private static readonly string Run = Guid.NewGuid().ToString("N")[..6];
    private static readonly DateTimeOffset T0 = WholeHour(DateTimeOffset.UtcNow).AddHours(-3);
    private static readonly string Flash = $"GF-{Run}", Solitaire = $"GL-{Run}";
    private static readonly string S1 = $"S1-{Run}", S2 = $"S2-{Run}";
    private static readonly string G1 = $"G1-{Run}", G2 = $"G2-{Run}";
    private static readonly string U1 = $"U1-{Run}", U2 = $"U2-{Run}", U3 = $"U3-{Run}";
    private readonly Topics _topics = new();

    private static DateTimeOffset WholeHour(DateTimeOffset t) => new(t.Year, t.Month, t.Day, t.Hour, 0, 0, TimeSpan.Zero);

    private static CustomerIds Member(string m) => new() { MemberId = $"{m}-{Run}" };

    private static OrderPlaced Order(string id, CustomerIds ids, int minute, string store, Channel channel, Payment payment, params LineItem[] items) => new()
    {
        EventId = $"{id}-{Run}", OccurredAt = T0.AddMinutes(minute), Channel = channel, StoreId = store, Ids = ids,
        OrderId = $"O-{id}-{Run}", Amount = items.Sum(i => i.Qty * i.Price), Items = items, Payment = payment,
    };

    private static OrderRefunded Refund(string id, OrderPlaced order, int minute, decimal amount) => new()
    {
        EventId = $"{id}-{Run}", OccurredAt = T0.AddMinutes(minute), Channel = order.Channel, StoreId = order.StoreId,
        Ids = order.Ids, OrderId = order.OrderId, Amount = amount,
    };

    private static GroupJoined Join(string id, CustomerIds ids, string group, int minute) => new()
    {
        EventId = $"{id}-{Run}", OccurredAt = T0.AddMinutes(minute), Channel = Channel.Group, Ids = ids, GroupId = group,
    };

    private static ContactAdded Contact(string id, CustomerIds ids, string guide, int minute) => new()
    {
        EventId = $"{id}-{Run}", OccurredAt = T0.AddMinutes(minute), Channel = Channel.Group, Ids = ids, GuideId = guide,
    };

    private static readonly LineItem Cherry = new("CHERRY-5J", 2, 19.90m);
    private static readonly LineItem Durian = new("DURIAN", 1, 199.00m);
    private static readonly LineItem Mango = new("MANGO", 3, 12.50m);
    private static readonly LineItem Apple = new("APPLE", 2, 9.95m);

    /// <summary>The input, phase by phase: each phase is processed before the next is produced.</summary>
    private static List<List<InputEvent>> Phases()
    {
        CustomerIds a = Member("MA"), b = Member("MB"), c = Member("MC"), d = Member("MD"), e = Member("ME"), x = Member("MX");
        var y = new CustomerIds { OpenId = $"OY-{Run}" };
        var a1 = Order("a1", a, 10, S1, Channel.Pos, Payment.WechatPay, Cherry);                               // last_touch flash
        var a2 = Order("a2", a, 12, S1, Channel.MiniProgram, Payment.WecomCollect, Cherry) with { CampaignId = Flash, GuideId = U2 }; // direct, wecom_collect
        var b1 = Order("b1", b, 15, S2, Channel.MiniProgram, Payment.WechatPay, Durian);                       // last_touch solitaire
        var b2 = Order("b2", b, 16, S2, Channel.MiniProgram, Payment.WechatPay, Apple);                        // group_assisted
        var c1 = Order("c1", c, 20, S1, Channel.Pos, Payment.Cash, Apple);                                      // organic
        var c2 = Order("c2", c, 21, S2, Channel.Pos, Payment.Card, Apple, Mango) with { GuideId = U3 };         // organic, the order's guide
        var d1 = Order("d1", d, 22, S2, Channel.Pos, Payment.WecomCollect, Mango) with { GuideId = U3 };        // organic, wecom_collect guide
        var d2 = Order("d2", d, 23, S2, Channel.MiniProgram, Payment.WechatPay, Mango) with { CampaignId = Solitaire, ShareGroupId = G2 }; // direct, shared in a group
        var e1 = Order("e1", e, 30, S1, Channel.MiniProgram, Payment.WechatPay, Cherry);                       // organic (joins later, late)
        var x1 = Order("x1", x, 35, S2, Channel.MiniProgram, Payment.WechatPay, Durian) with { CampaignId = Solitaire };
        var y1 = Order("y1", y, 36, S2, Channel.MiniProgram, Payment.WechatPay, Durian, Mango) with { CampaignId = Solitaire };
        return
        [
            // memberships and guides
            [
                Join("ja", a, G1, 1), Contact("ka", a, U1, 1), Join("jb", b, G2, 2), Contact("kd", d, U2, 3), Join("jx", x, G2, 2),
            ],
            // campaign touches
            [
                new FlashClaimed { EventId = $"fa-{Run}", OccurredAt = T0.AddMinutes(5), Channel = Channel.Group, StoreId = S1, Ids = a, GroupId = G1, CampaignId = Flash, Sku = Cherry.Sku },
                new SolitaireJoined { EventId = $"sb-{Run}", OccurredAt = T0.AddMinutes(6), Channel = Channel.Group, StoreId = S2, Ids = b, GroupId = G2, CampaignId = Solitaire, Items = [Durian] },
            ],
            // orders of every rule
            [a1, a2, b1, b2, c1, c2, d1, d2, e1, x1, y1],
            // late: a group join and a flash claim of E from before E's order was processed, and an
            // order of A from before A's flash claim (an earlier minute than any order so far)
            [
                Join("je", e, G1, 25),
                new FlashClaimed { EventId = $"fe-{Run}", OccurredAt = T0.AddMinutes(28), Channel = Channel.Group, StoreId = S1, Ids = e, GroupId = G1, CampaignId = Flash, Sku = Cherry.Sku },
                Order("a3", a, 4, S1, Channel.Pos, Payment.Cash, Cherry),
            ],
            // an order placed before that late claim; refunds, full and partial
            [
                Order("e2", e, 27, S1, Channel.MiniProgram, Payment.WechatPay, Cherry),
                Refund("rb1", b1, 40, b1.Amount), Refund("rc2", c2, 41, 5.00m), Refund("ra1", a1, 42, 19.90m), Refund("rd1", d1, 43, 3.00m),
            ],
            // X and Y turn out to be one customer (X, the older, survives)
            [
                new PageViewed { EventId = $"pv-{Run}", OccurredAt = T0.AddMinutes(50), Channel = Channel.MiniProgram, Ids = new CustomerIds { MemberId = x.MemberId, OpenId = y.OpenId }, Page = "home" },
            ],
            // after the merge, Y's id reaches the survivor: an order, and a refund of Y's earlier order
            [
                Order("y2", y, 55, S2, Channel.MiniProgram, Payment.WechatPay, Apple),
                Refund("ry1", y1, 56, 10.00m),
            ],
            // operations: A's guide does the 3-day comfort check (on time); C's guide messages C four times (cap 3)
            [
                new ServiceDone { EventId = $"sd-{Run}", OccurredAt = T0.AddMinutes(60), Channel = Channel.Group, Ids = a, GuideId = U1, Task = "comfort_check" },
                .. Enumerable.Range(1, 4).Select(n => (InputEvent)new MessageSent { EventId = $"ms{n}-{Run}", OccurredAt = T0.AddMinutes(60 + n), Channel = Channel.Group, Ids = c, GuideId = U3 }),
            ],
        ];
    }

    [Fact]
    public async Task Totals_in_ClickHouse_equal_an_independent_count_and_every_dashboard_panel_returns_rows()
    {
        var started = DateTimeOffset.UtcNow;
        var dir = Directory.CreateTempSubdirectory("siyu-golden-").FullName;
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 4 });
        foreach (var t in _topics.All)
        {
            broker.CreateTopic(t);
        }
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        var engine = ChDbEngine.Current ?? throw new InvalidOperationException("the node fixture opens chDB");
        var expected = new Expected();
        var node = await TestNode.StartAsync(broker.BootstrapServers, dir, fixture.ChDbPath);
        try
        {
            // Campaigns first: orders are attributed against what the node knows when it decides them.
            foreach (var (id, json) in Campaigns())
            {
                await producer.ProduceAsync(_topics.Campaigns, new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes(id), Value = Encoding.UTF8.GetBytes(json) });
            }
            expected.Campaign(Flash, "flash_sale", ["CHERRY-5J"]);
            expected.Campaign(Solitaire, "solitaire", ["DURIAN", "MANGO"]);
            await Until(async () => await Count(engine, $"SELECT count() FROM siyu.campaigns FINAL WHERE campaign_id IN ('{Flash}', '{Solitaire}')") == 2, "campaigns in ClickHouse");
            await Task.Delay(300);

            var phases = Phases();
            var sent = new List<(InputEvent Event, byte[] Value)>();
            Dictionary<TopicPartition, long>? beforeOrders = null;
            for (var i = 0; i < phases.Count; i++)
            {
                if (i == 2)
                {
                    beforeOrders = HighWatermarks(broker.BootstrapServers);
                    // Bad input among the orders: dead-lettered, nothing else changes.
                    await Produce(producer, _topics.Input(Channel.Pos), "bad", "{\"event_id\": \"broken"u8.ToArray());
                    await Produce(producer, _topics.Input(Channel.Pos), "bad", Encoding.UTF8.GetBytes(
                        $$"""{"event_id":"neg-{{Run}}","type":"order","occurred_at":"{{T0.AddMinutes(9):O}}","store_id":"{{S1}}","ids":{"member_id":"MZ-{{Run}}"},"order_id":"O-neg","amount":-5,"items":[],"payment":"cash"}"""));
                }
                foreach (var evt in phases[i])
                {
                    var value = EventWriter.ToUtf8Json(evt);
                    await Produce(producer, _topics.Input(evt.Channel), evt.Ids.All().First().Value, value);
                    sent.Add((evt, value));
                    expected.Process(evt);
                }
                await Accepted(node, sent.Count);
                await (await node.Sinks).PipelineMetrics!.RecordAsync();
            }
            await AssertClickHouse(engine, expected, "after the scenario");
            var survivor = await Lookup(node, $"/v1/customers/lookup?openid=OY-{Run}");
            Assert.Equal(survivor, await Lookup(node, $"/v1/customers/lookup?member_id=MX-{Run}"));

            // Redelivery: every order, refund and touch produced again (same bytes, new offsets).
            var again = sent.Where(s => s.Event is OrderPlaced or OrderRefunded or FlashClaimed or SolitaireJoined).ToList();
            foreach (var (evt, value) in again)
            {
                await Produce(producer, _topics.Input(evt.Channel), evt.Ids.All().First().Value, value);
                expected.Process(evt);
            }
            await Accepted(node, sent.Count + again.Count);
            await AssertClickHouse(engine, expected, "after the redelivered batch");

            // A restart that lost its commits: the node stops, the group's offsets go back to before the
            // orders (as if the commits after them never happened), a new node re-reads that whole tail.
            await node.DisposeAsync();
            RewindGroup(broker.BootstrapServers, beforeOrders!);
            var tail = sent.Skip(phases[0].Count + phases[1].Count).Count() + again.Count;
            node = await TestNode.StartAsync(broker.BootstrapServers, dir, fixture.ChDbPath);
            await Accepted(node, tail);
            await (await node.Sinks).PipelineMetrics!.RecordAsync();
            await AssertClickHouse(engine, expected, "after the restart re-read the uncommitted tail");

            // The API answers from the same tables.
            var live = JsonNode.Parse(await node.Http.GetStringAsync($"/v1/campaigns/{Solitaire}/live?from={Uri.EscapeDataString(T0.AddHours(-1).ToString("O"))}&to={Uri.EscapeDataString(T0.AddHours(2).ToString("O"))}"))!;
            var sol = expected.By(s => s.Campaign == Solitaire ? s.Campaign : null)[Solitaire];
            Assert.Equal(sol.Revenue, live["revenue"]!.GetValue<decimal>());
            Assert.Equal(sol.Orders, live["orders"]!.GetValue<ulong>());
            Assert.Equal(sol.Buyers, live["buyers"]!.GetValue<ulong>());

            // GET /v1/sales/summary answers from the same views: by store, group, guide and campaign
            // (this run's keys; other tests share the node) as the calculator says.
            var range = $"from={Uri.EscapeDataString(T0.AddHours(-2).ToString("O"))}&to={Uri.EscapeDataString(T0.AddHours(3).ToString("O"))}";
            foreach (var (by, key) in new (string, Func<Sale, string?>)[]
            {
                ("store", s => s.Store), ("group", s => Nonempty(s.Group)), ("guide", s => Nonempty(s.Guide)), ("campaign", s => Nonempty(s.Campaign)),
            })
            {
                var summary = JsonNode.Parse(await node.Http.GetStringAsync($"/v1/sales/summary?by={by}&{range}"))!["rows"]!.AsArray()
                    .Where(r => r!["key"]!.GetValue<string>().EndsWith(Run, StringComparison.Ordinal))
                    .ToDictionary(r => r!["key"]!.GetValue<string>(), r => r!);
                var want = expected.By(key);
                Assert.Equal(want.Keys, summary.Keys.Order(StringComparer.Ordinal));
                foreach (var (k, t) in want)
                {
                    var r = summary[k];
                    Assert.Equal((t.Revenue, t.Revenue + t.RefundAmount, t.RefundAmount, t.Orders, t.Refunds, t.Buyers),
                        (r["net"]!.GetValue<decimal>(), r["gross"]!.GetValue<decimal>(), r["refund_amount"]!.GetValue<decimal>(),
                         r["orders"]!.GetValue<ulong>(), r["refunds"]!.GetValue<ulong>(), r["buyers"]!.GetValue<ulong>()));
                }
            }

            // Operations notices reach ClickHouse after the customers' saves (their outbox).
            await Until(async () => await Count(engine, $"SELECT count() FROM siyu.operations FINAL WHERE guide_id IN ('{U1}', '{U3}')") == 5, "operations rows");
            Assert.Equal(1UL, await Count(engine, $"SELECT count() FROM siyu.operations FINAL WHERE kind = 'service_outcome' AND outcome = 'on_time' AND task = 'comfort_check' AND guide_id = '{U1}'"));
            Assert.Equal(4UL, await Count(engine, $"SELECT count() FROM siyu.operations FINAL WHERE kind = 'guide_touch' AND guide_id = '{U3}'"));

            await DashboardsReturnRows(engine, started);
        }
        finally
        {
            await node.DisposeAsync();
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private IEnumerable<(string Id, string Json)> Campaigns()
    {
        yield return (Flash, $$"""{"campaign_id":"{{Flash}}","type":"flash_sale","name":"cherry flash sale","store_id":"{{S1}}","group_ids":["{{G1}}"],"skus":["CHERRY-5J"],"stock":50,"starts_at":"{{T0:O}}","ends_at":"{{T0.AddHours(2):O}}"}""");
        yield return (Solitaire, $$"""{"campaign_id":"{{Solitaire}}","type":"solitaire","name":"durian and mango solitaire","store_id":"{{S2}}","group_ids":["{{G2}}"],"skus":["DURIAN","MANGO"],"stock":40,"starts_at":"{{T0:O}}","ends_at":"{{T0.AddHours(2):O}}"}""");
    }

    // --- ClickHouse against the calculator ------------------------------------------------------

    private async Task AssertClickHouse(IClickHouse engine, Expected expected, string when)
    {
        output.WriteLine($"checking {when}");
        var stores = $"('{S1}', '{S2}')";
        var campaigns = $"('{Flash}', '{Solitaire}')";

        // Row by row: every order and refund once, attributed as the calculator says.
        var rows = await engine.QueryRowsAsync<RowCheck>(
            $"SELECT event_id, rule, campaign_id, campaign_type, group_id, guide_id, payment, amount, in_private_domain, store_id, channel "
            + $"FROM siyu.attributed_sales FINAL WHERE store_id IN {stores} ORDER BY event_id");
        Assert.Equal(expected.Rows(), rows);
        Assert.Equal((ulong)rows.Count, await Count(engine, $"SELECT count() FROM siyu.attributed_sales WHERE store_id IN {stores}")); // never stored twice
        Assert.Equal(expected.TouchRows, await Count(engine, $"SELECT count() FROM siyu.touches FINAL WHERE campaign_id IN {campaigns}"));

        // The per-minute views, by every key the dashboards read.
        const string metrics = "sum(revenue) AS revenue, uniqExactMerge(orders) AS orders, uniqExactMerge(buyers) AS buyers, uniqExactMerge(refunds) AS refunds, sum(refund_amount) AS refund_amount";
        await Same(engine, "campaign", expected.By(s => Nonempty(s.Campaign)),
            $"SELECT campaign_id AS k, {metrics} FROM siyu.campaign_sales_minute WHERE campaign_id IN {campaigns} GROUP BY k");
        await Same(engine, "campaign × rule", expected.By(s => Nonempty(s.Campaign) is { } c ? $"{c}|{s.Rule}" : null),
            $"SELECT concat(campaign_id, '|', rule) AS k, {metrics} FROM siyu.campaign_sales_minute WHERE campaign_id IN {campaigns} GROUP BY k");
        await Same(engine, "campaign × store × group", expected.By(s => Nonempty(s.Campaign) is { } c ? $"{c}|{s.Store}|{s.Group}" : null),
            $"SELECT concat(campaign_id, '|', store_id, '|', group_id) AS k, {metrics} FROM siyu.campaign_sales_minute WHERE campaign_id IN {campaigns} GROUP BY k");
        await Same(engine, "campaign × minute", expected.By(s => Nonempty(s.Campaign) is { } c ? $"{c}|{Minute(s.At)}" : null),
            $"SELECT concat(campaign_id, '|', toString(minute)) AS k, {metrics} FROM siyu.campaign_sales_minute WHERE campaign_id IN {campaigns} GROUP BY k");
        await Same(engine, "store × rule", expected.By(s => $"{s.Store}|{s.Rule}"),
            $"SELECT concat(store_id, '|', rule) AS k, {metrics} FROM siyu.store_sales_minute WHERE store_id IN {stores} GROUP BY k");
        await Same(engine, "store × private domain", expected.By(s => $"{s.Store}|{s.InPrivateDomain}"),
            $"SELECT concat(store_id, '|', if(in_private_domain, 'True', 'False')) AS k, {metrics} FROM siyu.store_sales_minute WHERE store_id IN {stores} GROUP BY k");
        await Same(engine, "store × minute", expected.By(s => $"{s.Store}|{Minute(s.At)}"),
            $"SELECT concat(store_id, '|', toString(minute)) AS k, {metrics} FROM siyu.store_sales_minute WHERE store_id IN {stores} GROUP BY k");
        await Same(engine, "group", expected.By(s => Nonempty(s.Group)),
            $"SELECT group_id AS k, {metrics} FROM siyu.group_sales_minute WHERE store_id IN {stores} GROUP BY k");
        await Same(engine, "guide × payment", expected.By(s => Nonempty(s.Guide) is { } g ? $"{g}|{s.Payment}" : null),
            $"SELECT concat(guide_id, '|', payment) AS k, {metrics} FROM siyu.guide_sales_minute WHERE store_id IN {stores} GROUP BY k");
        await Same(engine, "group × minute", expected.By(s => Nonempty(s.Group) is { } g ? $"{g}|{Minute(s.At)}" : null),
            $"SELECT concat(group_id, '|', toString(minute)) AS k, {metrics} FROM siyu.group_sales_minute WHERE store_id IN {stores} GROUP BY k");
        await Same(engine, "guide × minute", expected.By(s => Nonempty(s.Guide) is { } g ? $"{g}|{Minute(s.At)}" : null),
            $"SELECT concat(guide_id, '|', toString(minute)) AS k, {metrics} FROM siyu.guide_sales_minute WHERE store_id IN {stores} GROUP BY k");

        // Units per campaign sku (sell-through, top SKUs): the orders' items; refund rows name no items.
        var units = (await engine.QueryRowsAsync<UnitsRow>(
            $"SELECT concat(campaign_id, '|', sku) AS k, sum(units) AS units, sum(revenue) AS revenue FROM siyu.campaign_sku_minute WHERE campaign_id IN {campaigns} GROUP BY k ORDER BY k"))
            .ToList();
        Assert.Equal(expected.Units(), units);

        // By person: the merged customer is one buyer once queries follow the survivor.
        await Same(engine, "campaign by person", expected.By(s => Nonempty(s.Campaign), byPerson: true),
            $"""
            SELECT s.campaign_id AS k, sum(s.amount) AS revenue, uniqExactIf(s.event_id, s.amount >= 0) AS orders,
                   uniqExactIf(if(m.survivor_id = '', s.customer_id, m.survivor_id), s.amount >= 0) AS buyers,
                   uniqExactIf(s.event_id, s.amount < 0) AS refunds, sumIf(-s.amount, s.amount < 0) AS refund_amount
            FROM siyu.attributed_sales AS s FINAL
            LEFT JOIN siyu.customer_survivors AS m ON m.customer_id = s.customer_id
            WHERE s.campaign_id IN {campaigns} GROUP BY k
            """);
        Assert.Equal(expected.Persons, await Count(engine,
            $"SELECT count() FROM siyu.profiles FINAL WHERE merged_into = '' AND customer_id IN "
            + $"(SELECT if(m.survivor_id = '', s.customer_id, m.survivor_id) FROM siyu.attributed_sales AS s LEFT JOIN siyu.customer_survivors AS m ON m.customer_id = s.customer_id WHERE s.store_id IN {stores})"));
    }

    private async Task Same(IClickHouse engine, string what, SortedDictionary<string, Totals> expected, string sql)
    {
        var actual = (await engine.QueryRowsAsync<TotalsRow>(sql)).OrderBy(r => r.K, StringComparer.Ordinal)
            .Select(r => (r.K, new Totals(r.Revenue, r.Orders, r.Buyers, r.Refunds, r.RefundAmount))).ToList();
        var want = expected.Select(kv => (kv.Key, kv.Value)).ToList();
        if (!want.SequenceEqual(actual))
        {
            output.WriteLine($"{what}: expected\n  {string.Join("\n  ", want)}\nactual\n  {string.Join("\n  ", actual)}");
        }
        Assert.True(want.SequenceEqual(actual), $"{what} differs (see output)");
    }

    private static string? Nonempty(string s) => s.Length == 0 ? null : s;

    private static string Minute(DateTimeOffset t) =>
        new DateTimeOffset(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    // --- every dashboard panel on this data -----------------------------------------------------

    private async Task DashboardsReturnRows(IClickHouse engine, DateTimeOffset started)
    {
        foreach (var file in DashboardFiles.Names)
        {
            var dashboard = DashboardFiles.Load(file);
            var pipeline = file == "pipeline.json";
            foreach (var stores in new[] { GrafanaMacros.All, [S1, S2] })
            {
                var macros = new GrafanaMacros
                {
                    From = pipeline ? started.AddMinutes(-1) : T0.AddHours(-1),
                    To = pipeline ? DateTimeOffset.UtcNow.AddMinutes(1) : T0.AddHours(2),
                    Database = "siyu",
                    Variables = new Dictionary<string, string[]> { ["campaign"] = [Flash], ["store"] = stores, ["instance"] = GrafanaMacros.All },
                };
                foreach (var (title, sql) in DashboardFiles.Queries(dashboard))
                {
                    var expanded = macros.Expand(sql);
                    var result = await engine.QueryAsync(expanded);
                    var lines = result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                    Assert.True(lines.Length > 0, $"{file} · {title} returned no rows:\n{expanded}");
                    Assert.True(DashboardFiles.HasData(lines[0]), $"{file} · {title} returned only nulls or zeros: {lines[0]}\n{expanded}");
                    output.WriteLine($"{file} · {title}: {lines.Length} rows, first {lines[0][..Math.Min(lines[0].Length, 140)]}");
                }
            }
        }
    }

    // --- plumbing --------------------------------------------------------------------------------

    private static async Task Produce(IProducer<byte[]?, byte[]> producer, string topic, string key, byte[] value) =>
        await producer.ProduceAsync(topic, new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = value });

    private static async Task Accepted(TestNode node, int count)
    {
        await Until(() => Task.FromResult(node.Tally.Accepted >= count), $"{count} events accepted (now {node.Tally.Accepted})", seconds: 90);
        Assert.Equal(count, node.Tally.Accepted);
        // Sales rows are in ClickHouse once their events are acknowledged; profile rows (the
        // survivors the by-person figures follow) are gathered for up to a second first.
        await node.App.Services.GetRequiredService<Siyu.Host.Node.ClickHouseProfileWriter>().FlushAsync(default);
    }

    private static async Task Until(Func<Task<bool>> done, string what, int seconds = 60)
    {
        var ok = await NodeFixture.Eventually(done, d => d, seconds);
        Assert.True(ok, "timed out waiting for " + what);
    }

    private static async Task<ulong> Count(IClickHouse engine, string sql) =>
        ulong.Parse((await engine.QueryAsync(sql, format: "TSV")).Trim(), CultureInfo.InvariantCulture);

    private static async Task<string> Lookup(TestNode node, string path) =>
        (await node.Http.GetFromJsonAsync<JsonObject>(path))!["customer_id"]!.GetValue<string>();

    private Dictionary<TopicPartition, long> HighWatermarks(string bootstrap)
    {
        using var probe = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = $"golden-probe-{Run}" }).Build();
        var marks = new Dictionary<TopicPartition, long>();
        foreach (var topic in _topics.Inputs)
        {
            for (var p = 0; p < 4; p++)
            {
                var tp = new TopicPartition(topic, p);
                marks[tp] = probe.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value;
            }
        }
        return marks;
    }

    // What a crash that lost the later commits leaves behind: the ingest group's offsets back at an
    // earlier point. The broker takes commits only from a member, so this joins the group to commit.
    private static void RewindGroup(string bootstrap, Dictionary<TopicPartition, long> to)
    {
        using var member = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "siyu-ingest", EnableAutoCommit = false, SessionTimeoutMs = 6000,
        }).Build();
        member.Subscribe(to.Keys.Select(k => k.Topic).Distinct());
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (member.Assignment.Count < to.Count && DateTime.UtcNow < deadline)
        {
            member.Consume(TimeSpan.FromMilliseconds(100));
        }
        Assert.Equal(to.Count, member.Assignment.Count);
        member.Commit(to.Select(kv => new TopicPartitionOffset(kv.Key, kv.Value)));
        var committed = member.Committed(to.Keys, TimeSpan.FromSeconds(10));
        Assert.All(committed, c => Assert.Equal(to[c.TopicPartition], c.Offset.Value));
        member.Close();
    }

    private sealed record RowCheck(string EventId, string Rule, string CampaignId, string CampaignType, string GroupId, string GuideId,
        string Payment, decimal Amount, bool InPrivateDomain, string StoreId, string Channel);

    private sealed record UnitsRow(string K, long Units, decimal Revenue);

    private sealed record TotalsRow(string K, decimal Revenue, ulong Orders, ulong Buyers, ulong Refunds, decimal RefundAmount);

    private sealed record Totals(decimal Revenue, ulong Orders, ulong Buyers, ulong Refunds, decimal RefundAmount);

    /// <summary>
    /// The contract's rules, applied to the input events in the order the node processes them (phase
    /// by phase), written for this scenario's event types only and without any of the product's code.
    /// Identity is a union-find over the ids seen together; the older customer (first seen) survives.
    /// </summary>
    private sealed class Expected
    {
        private readonly Dictionary<string, string> _parent = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _born = new(StringComparer.Ordinal);
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (string Type, string[] Skus)> _campaigns = new(StringComparer.Ordinal);
        private readonly List<(string Id, string Group, DateTimeOffset At)> _joins = [];
        private readonly List<(string Id, string Guide, DateTimeOffset At)> _contacts = [];
        private readonly List<(string Id, string Campaign, string Group, string[] Skus, DateTimeOffset At)> _touches = [];
        private readonly Dictionary<string, Sale> _orders = new(StringComparer.Ordinal);
        private readonly List<Sale> _sales = [];

        public ulong TouchRows { get; private set; }

        /// <summary>Distinct people who bought or refunded.</summary>
        public ulong Persons => (ulong)_sales.Select(s => Find(s.FirstId)).Distinct().Count();

        public void Campaign(string id, string type, string[] skus) => _campaigns[id] = (type, skus);

        public void Process(InputEvent e)
        {
            if (!_seen.Add(e.EventId))
            {
                return; // a redelivery changes nothing
            }
            var ids = e.Ids.All().Select(i => $"{i.Type}:{i.Value}").ToList();
            foreach (var id in ids)
            {
                if (_parent.TryAdd(id, id))
                {
                    _born[id] = _born.Count;
                }
            }
            foreach (var id in ids.Skip(1))
            {
                Union(ids[0], id);
            }
            var me = ids[0];
            var at = e.OccurredAt.ToUniversalTime();
            switch (e)
            {
                case GroupJoined j:
                    _joins.Add((me, j.GroupId, at));
                    break;
                case ContactAdded c:
                    _contacts.Add((me, c.GuideId, at));
                    break;
                case FlashClaimed f:
                    _touches.Add((me, f.CampaignId, f.GroupId, [f.Sku], at));
                    TouchRows++;
                    break;
                case SolitaireJoined s:
                    _touches.Add((me, s.CampaignId, s.GroupId, s.Items.Select(i => i.Sku).ToArray(), at));
                    TouchRows++;
                    break;
                case OrderPlaced o:
                    var sale = Decide(o, me, at);
                    _orders[o.OrderId] = sale;
                    _sales.Add(sale);
                    break;
                case OrderRefunded r:
                    // Reversed with the order's attribution and channel; the refund's own time and store.
                    var order = _orders[r.OrderId];
                    // A refund row carries its order's payment (so a wecom_collect refund comes off the guide's WeCom figure).
                    _sales.Add(order with { EventId = r.EventId, At = at, Store = r.StoreId!, Amount = -r.Amount, BuyerThen = Find(me), Items = [] });
                    break;
                case PageViewed or ServiceDone or MessageSent:
                    break; // no sale or campaign touch (operations rows are checked on their own)
                default:
                    throw new NotSupportedException(e.GetType().Name);
            }
        }

        private Sale Decide(OrderPlaced o, string me, DateTimeOffset at)
        {
            bool Mine(string id) => Find(id) == Find(me);
            var groupsThen = _joins.Where(j => Mine(j.Id) && j.At <= at).OrderBy(j => j.At).ToList();
            var contactsThen = _contacts.Where(c => Mine(c.Id) && c.At <= at).OrderBy(c => c.At).ToList();
            var guide = o.GuideId ?? contactsThen.LastOrDefault().Guide ?? ""; // wecom_collect or not, the order's guide comes first
            var inPrivateDomain = groupsThen.Count > 0 || contactsThen.Count > 0;
            string rule, campaign = "", group = "";
            var skus = o.Items.Select(i => i.Sku).ToHashSet();
            var touch = _touches
                .Where(t => Mine(t.Id) && t.At <= at && _campaigns.ContainsKey(t.Campaign) && t.At >= at.AddHours(-24)
                    && (_campaigns[t.Campaign].Skus.Length == 0 || _campaigns[t.Campaign].Skus.Any(skus.Contains)))
                .OrderBy(t => t.At).LastOrDefault();
            if (o.CampaignId is { } direct && _campaigns.ContainsKey(direct))
            {
                (rule, campaign, group) = ("direct", direct, o.ShareGroupId ?? "");
            }
            else if (touch.Campaign is not null)
            {
                (rule, campaign, group) = ("last_touch", touch.Campaign, touch.Group);
            }
            else if (groupsThen.Count > 0)
            {
                (rule, group) = ("group_assisted", groupsThen.Any(g => g.Group == o.ShareGroupId) ? o.ShareGroupId! : groupsThen[^1].Group);
            }
            else
            {
                rule = "organic";
            }
            var payment = o.Payment switch { Payment.Cash => "cash", Payment.Card => "card", Payment.WechatPay => "wechat_pay", _ => "wecom_collect" };
            return new Sale(o.EventId, at, o.Channel.ToString().ToLowerInvariant(), o.StoreId!, o.Amount, campaign,
                campaign.Length == 0 ? "" : _campaigns[campaign].Type, rule, group, guide, inPrivateDomain, payment, Find(me), me)
            {
                Items = o.Items,
            };
        }

        public List<UnitsRow> Units() =>
            _sales.Where(s => s.Campaign.Length > 0 && s.Amount >= 0)
                .SelectMany(s => s.Items.Select(i => (Key: $"{s.Campaign}|{i.Sku}", i.Qty, Revenue: i.Qty * i.Price)))
                .GroupBy(x => x.Key)
                .Select(g => new UnitsRow(g.Key, g.Sum(x => (long)x.Qty), g.Sum(x => x.Revenue)))
                .OrderBy(u => u.K, StringComparer.Ordinal)
                .ToList();

        public List<RowCheck> Rows() =>
            _sales.OrderBy(s => s.EventId, StringComparer.Ordinal)
                .Select(s => new RowCheck(s.EventId, s.Rule, s.Campaign, s.CampaignType, s.Group, s.Guide, s.Payment, s.Amount, s.InPrivateDomain, s.Store, s.Channel))
                .ToList();

        /// <summary>
        /// Totals per key (null: not counted). Buyers count customers as the node knew them when each
        /// order was processed (what the per-minute views hold), or people (<paramref name="byPerson"/>).
        /// </summary>
        public SortedDictionary<string, Totals> By(Func<Sale, string?> key, bool byPerson = false)
        {
            var result = new SortedDictionary<string, Totals>(StringComparer.Ordinal);
            foreach (var g in _sales.Where(s => key(s) is not null).GroupBy(s => key(s)!))
            {
                var orders = g.Where(s => s.Amount >= 0).ToList();
                var refunds = g.Where(s => s.Amount < 0).ToList();
                result[g.Key] = new Totals(
                    g.Sum(s => s.Amount),
                    (ulong)orders.Count,
                    (ulong)orders.Select(s => byPerson ? Find(s.FirstId) : s.BuyerThen).Distinct().Count(),
                    (ulong)refunds.Count,
                    -refunds.Sum(s => s.Amount));
            }
            return result;
        }

        private string Find(string id)
        {
            while (_parent[id] != id)
            {
                id = _parent[id];
            }
            return id;
        }

        private void Union(string a, string b)
        {
            var (ra, rb) = (Find(a), Find(b));
            if (ra != rb)
            {
                // The customer first seen survives.
                if (_born[ra] < _born[rb])
                {
                    _parent[rb] = ra;
                }
                else
                {
                    _parent[ra] = rb;
                }
            }
        }
    }

    private sealed record Sale(string EventId, DateTimeOffset At, string Channel, string Store, decimal Amount, string Campaign,
        string CampaignType, string Rule, string Group, string Guide, bool InPrivateDomain, string Payment, string BuyerThen, string FirstId)
    {
        public IReadOnlyList<LineItem> Items { get; init; } = [];
    }
}
