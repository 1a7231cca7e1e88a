using System.Globalization;
using System.Text.Json.Nodes;

namespace Siyu.Reliability.Tests.Support;

/// <summary>Compares what a node shows (API over the actors, API over ClickHouse, siyu.profiles) with the truth of an <see cref="EventSet"/>.</summary>
public static class Truth
{
    /// <summary>ClickHouse, through GET /v1/campaigns/{id}/live: per-campaign revenue, refunds, orders.</summary>
    public static Task<List<string>> CampaignMismatches(NodeProcess node, EventSet set) =>
        CampaignMismatches([node], set, set.Campaigns);

    /// <summary>
    /// As above, summed over <paramref name="nodes"/> that each write their own ClickHouse (embedded
    /// chDB per process), against <paramref name="expected"/> (e.g. <see cref="EventSet.CampaignsIn"/> of what was sent so far).
    /// </summary>
    public static async Task<List<string>> CampaignMismatches(IReadOnlyList<NodeProcess> nodes, EventSet set, IReadOnlyList<CampaignTruth> expected)
    {
        var problems = new List<string>();
        var from = Uri.EscapeDataString(set.From.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        var to = Uri.EscapeDataString(set.To.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        foreach (var c in expected)
        {
            decimal revenue = 0, refundAmount = 0;
            ulong orders = 0, refunds = 0;
            var answered = true;
            foreach (var node in nodes)
            {
                var live = await node.GetJsonAsync($"/v1/campaigns/{c.CampaignId}/live?from={from}&to={to}");
                if (live is null)
                {
                    problems.Add($"{c.CampaignId}: no answer");
                    answered = false;
                    break;
                }
                revenue += live["revenue"]!.GetValue<decimal>();
                refundAmount += live["refund_amount"]!.GetValue<decimal>();
                orders += live["orders"]!.GetValue<ulong>();
                refunds += live["refunds"]!.GetValue<ulong>();
            }
            if (!answered)
            {
                continue;
            }
            Check(problems, c.CampaignId, "revenue", c.Revenue, revenue);
            Check(problems, c.CampaignId, "refund_amount", c.RefundAmount, refundAmount);
            Check(problems, c.CampaignId, "orders", c.Orders, orders);
            Check(problems, c.CampaignId, "refunds", c.Refunds, refunds);
        }
        return problems;
    }

    /// <summary>The actors, through GET /v1/customers/lookup?member_id=: every customer's stats and merged ids.</summary>
    public static async Task<List<string>> CustomerMismatches(NodeProcess node, EventSet set)
    {
        var problems = new List<string>();
        foreach (var c in set.Customers)
        {
            var profile = await node.GetJsonAsync($"/v1/customers/lookup?member_id={Uri.EscapeDataString(c.MemberId)}");
            if (profile is null)
            {
                problems.Add($"{c.MemberId}: not found");
                continue;
            }
            CheckProfile(problems, c, profile.AsObject());
        }
        return problems;
    }

    /// <summary>siyu.profiles: the latest profile of each customer, as a downstream service rebuilds it.</summary>
    public static List<string> TopicMismatches(TestKafka kafka, EventSet set)
    {
        var problems = new List<string>();
        var survivors = kafka.LatestProfiles().Values
            .Where(p => p is not null && p["merged_into"] is null)
            .Select(p => p!)
            .ToList();
        var byMember = new Dictionary<string, List<JsonObject>>();
        foreach (var p in survivors)
        {
            foreach (var m in p["ids"]?["member_id"]?.AsArray() ?? [])
            {
                var id = m!.GetValue<string>();
                byMember.TryAdd(id, []);
                byMember[id].Add(p);
            }
        }
        foreach (var c in set.Customers)
        {
            if (!byMember.TryGetValue(c.MemberId, out var profiles))
            {
                problems.Add($"{c.MemberId}: no profile on the topic");
                continue;
            }
            if (profiles.Count > 1)
            {
                problems.Add($"{c.MemberId}: {profiles.Count} live profiles on the topic");
            }
            CheckProfile(problems, c, profiles[0]);
        }
        return problems;
    }

    /// <summary>One customer as the truth knows it: its customer id, those merged into it (a login), its group, whether it was erased.</summary>
    public sealed record ChangeTruth(string CustomerId, IReadOnlyList<string> Absorbed, string? Group, bool Erased);

    /// <summary>The kinds of change events the truth decides from the input alone.</summary>
    public static readonly string[] StructuralChanges = ["created", "merged", "joined_private_domain", "left_private_domain", "group_joined", "group_left", "erased"];

    /// <summary>
    /// siyu.profile-changes as a subscriber reads it from offset 0, deduplicated by change_id (a
    /// repeat after a crash must be the same record), against the truth: each customer created,
    /// each merge reported by both sides, each group joined, each erasure; nothing else of those
    /// kinds. <paramref name="records"/> and <paramref name="distinct"/> count what was read.
    /// </summary>
    public static List<string> ChangeMismatches(TestKafka kafka, IReadOnlyList<ChangeTruth> truth, out int records, out int distinct)
    {
        var problems = new List<string>();
        var expected = new List<string>();
        // What an absorbed customer may also have said before its merge, depending on which of the
        // two was created first: it held the member id, so its group join came to it first.
        var optional = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in truth)
        {
            expected.Add($"{t.CustomerId} created");
            foreach (var a in t.Absorbed)
            {
                if (t.Group is { } joined)
                {
                    optional.Add($"{a} joined_private_domain");
                    optional.Add($"{a} group_joined {joined}");
                }
                expected.Add($"{a} created");
                expected.Add($"{t.CustomerId} merged from {a}");
                expected.Add($"{a} merged into {t.CustomerId}");
            }
            if (t.Group is { } g)
            {
                expected.Add($"{t.CustomerId} joined_private_domain");
                expected.Add($"{t.CustomerId} group_joined {g}");
            }
            if (t.Erased)
            {
                expected.Add($"{t.CustomerId} erased");
                // The customers merged into an erased one are erased with it, each saying so.
                expected.AddRange(t.Absorbed.Select(a => $"{a} erased"));
            }
        }
        var byId = new Dictionary<string, string>(StringComparer.Ordinal);
        var actual = new List<string>();
        records = 0;
        foreach (var (key, value) in kafka.ReadAll(kafka.Topics.ProfileChanges))
        {
            records++;
            var text = System.Text.Encoding.UTF8.GetString(value ?? []);
            var change = JsonNode.Parse(text)!.AsObject();
            var customer = change["customer_id"]!.GetValue<string>();
            if (key != customer)
            {
                problems.Add($"change keyed {key} is about {customer}");
            }
            if (change["change_id"]?.GetValue<string>() is not { } id)
            {
                problems.Add($"a change without change_id: {text}");
                continue;
            }
            if (byId.TryGetValue(id, out var first))
            {
                if (first != text)
                {
                    problems.Add($"change_id {id} repeated with another content: {first} / {text}");
                }
                continue;
            }
            byId[id] = text;
            var kind = change["change"]!.GetValue<string>();
            if (!StructuralChanges.Contains(kind))
            {
                continue;
            }
            if (kind == "merged" && change["merged_into"] is null)
            {
                actual.AddRange(change["merged_from"]!.AsArray().Select(m => $"{customer} merged from {m!.GetValue<string>()}"));
                continue;
            }
            actual.Add(kind switch
            {
                "merged" => $"{customer} merged into {change["merged_into"]!.GetValue<string>()}",
                "group_joined" or "group_left" => $"{customer} {kind} {change["group_id"]!.GetValue<string>()}",
                _ => $"{customer} {kind}",
            });
        }
        distinct = byId.Count;
        foreach (var missing in expected.Except(actual).Order(StringComparer.Ordinal))
        {
            problems.Add("missing: " + missing);
        }
        foreach (var extra in actual.Except(expected).Where(a => !optional.Contains(a)).Order(StringComparer.Ordinal))
        {
            problems.Add("not in the truth: " + extra);
        }
        foreach (var twice in actual.GroupBy(a => a).Where(g => g.Count() > 1))
        {
            problems.Add($"recorded {twice.Count()} times under different change ids: {twice.Key}");
        }
        return problems;
    }

    /// <summary>
    /// A downstream service that rebuilds its copy from Kafka alone: siyu.profiles from offset 0
    /// (the latest value per key, what a compacted topic keeps) and siyu.profile-changes. Every
    /// live customer's profile must equal the node's own (GET /v1/customers/{id}; only
    /// segment.as_of, the "now" of the projection, may differ); an erased customer ends with a
    /// tombstone; an absorbed one points at its survivor (merged_into), and a subscriber that
    /// follows the pointer finds the survivor live; no other live profile exists.
    /// </summary>
    public static async Task<List<string>> RebuildMismatches(TestKafka kafka, NodeProcess node, IReadOnlyList<ChangeTruth> truth)
    {
        var problems = new List<string>();
        var profiles = kafka.LatestProfiles();
        var survivors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in truth)
        {
            if (!profiles.TryGetValue(t.CustomerId, out var rebuilt))
            {
                problems.Add($"{t.CustomerId}: nothing on siyu.profiles");
                continue;
            }
            if (t.Erased)
            {
                if (rebuilt is not null)
                {
                    problems.Add($"{t.CustomerId}: erased, but its latest siyu.profiles record is not a tombstone");
                }
                foreach (var absorbed in t.Absorbed)
                {
                    if (!profiles.TryGetValue(absorbed, out var pointer) || pointer is not null)
                    {
                        problems.Add($"{absorbed}: merged into the erased {t.CustomerId}, but its latest siyu.profiles record is {(pointer is null ? "missing" : "not a tombstone")}");
                    }
                }
                continue;
            }
            survivors.Add(t.CustomerId);
            var own = await node.GetJsonAsync($"/v1/customers/{t.CustomerId}");
            if (rebuilt is null || own is null)
            {
                problems.Add($"{t.CustomerId}: live, but rebuilt {(rebuilt is null ? "as a tombstone" : "")} / node {(own is null ? "does not find it" : "")}");
                continue;
            }
            var a = WithoutAsOf(rebuilt);
            var b = WithoutAsOf(own.AsObject());
            if (!JsonNode.DeepEquals(a, b))
            {
                problems.Add($"{t.CustomerId}: rebuilt {a.ToJsonString()} but the node has {b.ToJsonString()}");
            }
            foreach (var absorbed in t.Absorbed)
            {
                var into = profiles.GetValueOrDefault(absorbed)?["merged_into"]?.GetValue<string>();
                if (into != t.CustomerId || !profiles.TryGetValue(into, out var followed) || followed is null)
                {
                    problems.Add($"{absorbed}: absorbed by {t.CustomerId}, but its profile points at {into ?? "nothing"}");
                }
            }
        }
        foreach (var (key, p) in profiles)
        {
            if (p is not null && p["merged_into"] is null && !survivors.Contains(key))
            {
                problems.Add($"{key}: a live profile on siyu.profiles that is no customer of the input");
            }
        }
        return problems;

        static JsonObject WithoutAsOf(JsonObject profile)
        {
            var copy = profile.DeepClone().AsObject();
            copy["segment"]?.AsObject().Remove("as_of");
            return copy;
        }
    }

    private static void CheckProfile(List<string> problems, CustomerTruth c, JsonObject profile)
    {
        var stats = profile["stats"]!;
        Check(problems, c.MemberId, "orders", c.Orders, stats["orders"]!.GetValue<int>());
        Check(problems, c.MemberId, "revenue", c.Revenue, stats["revenue"]!.GetValue<decimal>());
        Check(problems, c.MemberId, "refunds", c.Refunds, stats["refunds"]!.GetValue<int>());
        Check(problems, c.MemberId, "refund_amount", c.RefundAmount, stats["refund_amount"]!.GetValue<decimal>());
        if (c.AppUserId is { } app
            && !(profile["ids"]?["app_user_id"]?.AsArray() ?? []).Any(v => v!.GetValue<string>() == app))
        {
            problems.Add($"{c.MemberId}: app_user_id {app} not stitched in");
        }
    }

    private static void Check<T>(List<string> problems, string who, string what, T expected, T actual)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            problems.Add($"{who}: {what} expected {expected}, got {actual}");
        }
    }

    private static void Check(List<string> problems, string who, string what, int expected, ulong actual) =>
        Check(problems, who, what, (ulong)expected, actual);
}
