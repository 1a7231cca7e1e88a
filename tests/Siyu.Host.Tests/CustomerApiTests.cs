using System.Net;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Siyu.Contracts.Events;
using Siyu.Contracts.Privacy;

namespace Siyu.Host.Tests;

[Collection(NodeCollection.Name)]
[Trait("Clock", "node")] // on the node's ShiftedClock; not rerun under faketime: librdkafka's timed waits never return under libfaketime
public sealed class CustomerApiTests(NodeFixture node)
{
    // The day before the node's clock starts (NodeFixture.Start), whatever today is.
    private static readonly DateTimeOffset T0 = NodeFixture.Start.AddDays(-1);

    private static OrderPlaced Order(string id, CustomerIds ids, decimal amount) => new()
    {
        EventId = id, OccurredAt = T0, Channel = Channel.Pos, StoreId = "S001", Ids = ids,
        OrderId = "O-" + id, Amount = amount, Items = [new LineItem("CHERRY-5J", 1, amount)], Payment = Payment.Cash,
    };

    private async Task<(HttpStatusCode Status, JsonObject? Body)> GetJson(string url)
    {
        var response = await node.Http.GetAsync(url);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonNode.Parse(text) as JsonObject : null);
    }

    private Task<(HttpStatusCode Status, JsonObject? Body)> Lookup(string query) =>
        NodeFixture.Eventually(() => GetJson("/v1/customers/lookup?" + query), r => r.Status == HttpStatusCode.OK);

    [Fact]
    public async Task The_pos_lookup_finds_the_customer_by_any_id_and_prompts_to_invite_until_they_join_a_group()
    {
        await node.SendAsync(Order("api-1", new CustomerIds { MemberId = "API-M1", Phone = "13900000001" }, 88m));
        var (status, profile) = await Lookup("member_id=API-M1");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, (int)profile!["stats"]!["orders"]!);
        Assert.Equal("invite_to_group", (string)profile["prompts"]![0]!["code"]!);
        // The segment is computed on the node's calendar: a first order yesterday is a new customer.
        Assert.Equal("new", (string)profile["segment"]!["state"]!);
        Assert.InRange((DateTimeOffset)profile["segment"]!["as_of"]!, NodeFixture.Start, node.Clock.GetUtcNow());

        // The raw phone is hashed for the lookup, and never appears in the profile.
        var (byPhone, viaPhone) = await Lookup("phone=+86%20139-0000-0001");
        Assert.Equal(HttpStatusCode.OK, byPhone);
        Assert.Equal((string)profile["customer_id"]!, (string)viaPhone!["customer_id"]!);
        Assert.DoesNotContain("13900000001", viaPhone.ToJsonString());
        Assert.Contains(new PhoneHasher(NodeFixture.PhoneKey).Hash("13900000001"), viaPhone.ToJsonString());

        await node.SendAsync(new GroupJoined { EventId = "api-2", OccurredAt = T0.AddMinutes(1), Channel = Channel.Group, Ids = new CustomerIds { MemberId = "API-M1" }, GroupId = "GR-API" });
        var joined = await NodeFixture.Eventually(() => GetJson("/v1/customers/lookup?member_id=API-M1"),
            r => r.Body?["prompts"]?.AsArray().All(p => (string)p!["code"]! != "invite_to_group") == true);
        // The order's first after-sale task (comfort_check, 3 days after) is due within the week.
        var service = Assert.Single(joined.Body!["prompts"]!.AsArray());
        Assert.Equal(("service_due", "comfort_check"), ((string)service!["code"]!, (string)service["task"]!));
        Assert.Equal(T0.AddDays(3), (DateTimeOffset)service["due_at"]!);
        Assert.True((bool)joined.Body["in_private_domain"]!);
    }

    [Theory]
    [InlineData("/v1/customers/lookup", "give exactly one of")]
    [InlineData("/v1/customers/lookup?member_id=A&openid=B", "give exactly one of")]
    [InlineData("/v1/customers/lookup?passport=X", "give exactly one of")]
    [InlineData("/v1/customers/lookup?member_id=", "non-empty")]
    [InlineData("/v1/customers/lookup?member_id=%20", "non-empty")]
    [InlineData("/v1/customers/not-a-customer-id", "customer_id must be")]
    public async Task Bad_requests_get_400_with_a_message(string url, string message)
    {
        var (status, body) = await GetJson(url);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, (string)body!["error"]!);
    }

    [Fact]
    public async Task Unknown_customers_are_404()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await GetJson("/v1/customers/lookup?member_id=NOBODY")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await GetJson("/v1/customers/c0000000000000000000000")).Status);
    }

    [Fact]
    public async Task Profiles_are_published_keyed_by_customer_and_erasure_really_erases()
    {
        await node.SendAsync(Order("era-1", new CustomerIds { MemberId = "ERA-M1", OpenId = "era-o1" }, 10m));
        await node.SendAsync(Order("era-2", new CustomerIds { OpenId = "era-o1" }, 15m));
        var (_, profile) = await NodeFixture.Eventually(() => GetJson("/v1/customers/lookup?member_id=ERA-M1"), r => r.Body?["stats"]?["orders"]?.GetValue<int>() == 2);
        var customerId = (string)profile!["customer_id"]!;

        // A downstream service rebuilds the profile from siyu.profiles alone: the latest value per key.
        var latest = ReadLatest(node.Topics.Profiles, customerId, v => v is not null && JsonNode.Parse(v)!["stats"]!["orders"]!.GetValue<int>() == 2);
        Assert.NotNull(latest);
        Assert.Equal(25m, JsonNode.Parse(latest!)!["stats"]!["revenue"]!.GetValue<decimal>());

        // ClickHouse holds the profile and both sales (written after the durable save).
        var engine = Siyu.Sinks.ClickHouse.Embedded.ChDbEngine.Current!;
        async Task<ulong> Count(string sql) => ulong.Parse((await engine.QueryAsync(sql, format: "TSV")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        // (The two orders may have reached two customers merged since: rows follow the survivor.)
        var sales = "SELECT count() FROM siyu.attributed_sales AS s LEFT JOIN siyu.customer_survivors AS m ON m.customer_id = s.customer_id "
            + $"WHERE s.event_id IN ('era-1', 'era-2') AND if(m.survivor_id = '', s.customer_id, m.survivor_id) = '{customerId}'";
        var profiles = $"SELECT count() FROM siyu.profiles WHERE customer_id = '{customerId}'";
        Assert.Equal(2UL, await NodeFixture.Eventually(() => Count(sales), n => n == 2));
        Assert.NotEqual(0UL, await NodeFixture.Eventually(() => Count(profiles), n => n > 0));

        var delete = await node.Http.DeleteAsync($"/v1/customers/{customerId}");
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        // ...and after the erasure no row names the customer; the sales stay, under an unlinked token.
        Assert.Equal(0UL, await Count(profiles));
        Assert.Equal(0UL, await Count(sales));
        Assert.Equal(0UL, await Count("SELECT count() FROM siyu.attributed_sales WHERE event_id IN ('era-1', 'era-2') AND startsWith(customer_id, 'c')"));
        Assert.Equal(25m, decimal.Parse((await engine.QueryAsync("SELECT sum(amount) FROM siyu.attributed_sales FINAL WHERE event_id IN ('era-1', 'era-2')", format: "TSV")).Trim(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(HttpStatusCode.NotFound, (await GetJson("/v1/customers/lookup?member_id=ERA-M1")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await GetJson("/v1/customers/lookup?openid=era-o1")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await GetJson($"/v1/customers/{customerId}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await node.Http.DeleteAsync($"/v1/customers/{customerId}")).StatusCode);

        // The profile topic ends with a tombstone; the database keeps only the customer's tombstone
        // (no state), and no id of the index points at it.
        Assert.Equal("<tombstone>", ReadLatest(node.Topics.Profiles, customerId, v => v is null) ?? "<missing>");
        await using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={node.JournalPath}");
        await db.OpenAsync();
        var rows = new Microsoft.Data.Sqlite.SqliteCommand("SELECT COUNT(*) FROM siyu_customers WHERE customer_id = $p AND state IS NOT NULL", db);
        rows.Parameters.AddWithValue("$p", customerId);
        Assert.Equal(0L, (long)(await rows.ExecuteScalarAsync())!);
        var ids = new Microsoft.Data.Sqlite.SqliteCommand("SELECT COUNT(*) FROM siyu_ids WHERE owner = $p", db);
        ids.Parameters.AddWithValue("$p", customerId);
        Assert.Equal(0L, (long)(await ids.ExecuteScalarAsync())!);
    }

    /// <summary>The last value for <paramref name="key"/> once one satisfies <paramref name="done"/> ("&lt;tombstone&gt;" for null).</summary>
    private string? ReadLatest(string topic, string key, Func<string?, bool> done)
    {
        using var consumer = new ConsumerBuilder<string, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = node.Broker.BootstrapServers,
            GroupId = "profiles-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        string? latest = null;
        var found = false;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline && !(found && done(latest)))
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } cr && cr.Message.Key == key)
            {
                latest = cr.Message.Value is null ? null : System.Text.Encoding.UTF8.GetString(cr.Message.Value);
                found = true;
            }
        }
        consumer.Close();
        return found ? latest ?? "<tombstone>" : null;
    }
}
