using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Akka.Actor;
using Akka.Hosting;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Hosting;
using Siyu.Actors.Lookups;
using Siyu.Actors.Operations;
using Siyu.Contracts.Events;
using Siyu.Contracts.Identity;
using Siyu.Contracts.Privacy;
using Siyu.Host.Api.Security;
using Siyu.Host.Node;

namespace Siyu.Host.Api;

/// <summary>
/// The customer API (contract: HTTP API): what the POS calls at checkout, lookups by any id, and
/// PIPL erasure. Bad input gets a 400 with a message that says what is wrong.
/// </summary>
public static partial class CustomerApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    private static readonly IdType[] LookupTypes =
        [IdType.MemberId, IdType.Phone, IdType.UnionId, IdType.OpenId, IdType.ExternalUserId, IdType.AppUserId];

    /// <summary>The fruit chain's checkout prompt (domain.md): "not in a group yet, invite them".</summary>
    public const string InvitePrompt = PosPrompts.InviteMessage;

    [GeneratedRegex("^c[0-9a-f]{22}$")]
    private static partial Regex CustomerIdFormat();

    public static void MapCustomerApi(this WebApplication app)
    {
        var ids = string.Join(", ", LookupTypes.Select(t => t.WireName()));
        app.MapGet("/v1/customers/lookup", Lookup)
            .WithTags("Customers")
            .WithSummary("Find a customer by one id: what the POS calls at checkout")
            .WithDescription($"Exactly one of {ids}, non-empty, at most 128 characters. A phone is normalized and hashed before the lookup; placeholders (N/A, 0...) and impossible phones are refused.")
            .WithQuery([.. LookupTypes.Select(t => ApiDocument.Query(t.WireName(), $"the customer's {t.WireName()} (give exactly one of {ids})"))])
            .Produces<ApiError>(StatusCodes.Status400BadRequest)
            .Produces<ApiError>(StatusCodes.Status404NotFound)
            .WithProfileAndPrompts()
            .RequireRole(ApiSecurity.Pos);
        app.MapGet("/v1/customers/{customerId}", Get)
            .WithTags("Customers")
            .WithSummary("A customer's profile (the survivor's, for a merged customer)")
            .Produces<CustomerProfile>()
            .Produces<ApiError>(StatusCodes.Status400BadRequest)
            .Produces<ApiError>(StatusCodes.Status404NotFound)
            .RequireRole(ApiSecurity.Pos);
        app.MapDelete("/v1/customers/{customerId}", Erase)
            .WithTags("Customers")
            .WithSummary("PIPL erasure: the customer, its ids and its ClickHouse rows")
            .Produces<ErasureAnswer>()
            .Produces<ApiError>(StatusCodes.Status400BadRequest)
            .Produces<ApiError>(StatusCodes.Status404NotFound)
            .Produces<ApiError>(StatusCodes.Status503ServiceUnavailable)
            .RequireRole(ApiSecurity.Admin);
    }

    private static IResult Problem(int status, string error) => ApiInput.Error(status, error);

    private static async Task<IResult> Lookup(HttpRequest request, CustomerLookup customers, PhoneHasher phones, IdValues idValues, CustomerRules rules, TimeProvider clock, CancellationToken ct)
    {
        var given = request.Query.Where(q => q.Value.Count > 0).ToList();
        var known = LookupTypes.Select(t => t.WireName()).ToList();
        if (given.Count != 1 || !IdTypeNames.TryParse(given[0].Key, out var type) || !LookupTypes.Contains(type))
        {
            return Problem(400, $"give exactly one of {string.Join(", ", known)} (got {(given.Count == 0 ? "none" : string.Join(", ", given.Select(g => g.Key)))})");
        }
        var value = given[0].Value.ToString().Trim();
        if (value.Length is 0 or > 128 || given[0].Value.Count > 1)
        {
            return Problem(400, $"{type.WireName()} must be one non-empty value of at most 128 characters");
        }
        // The rules ingest applies: a placeholder or an impossible phone was never linked to anyone,
        // and must not find anyone either (a cashier's "N/A" showed a stranger's profile: issue #15).
        var check = idValues.Check(type, value);
        if (check.Refused is { } refused)
        {
            return Problem(400, refused.Describe().Replace("ids.", "", StringComparison.Ordinal));
        }
        value = type == IdType.Phone ? phones.Hash(check.Value!) : check.Value!;
        var state = await customers.ByIdAsync(type, value, ct);
        if (state is null)
        {
            return Problem(404, $"no customer with this {type.WireName()}");
        }
        var profile = ProfileJson(state, clock, rules);
        // The cashier's prompts: invite to a group, a service task due, a birthday this week.
        var prompts = new JsonArray();
        foreach (var p in PosPrompts.For(state, clock.GetUtcNow(), rules))
        {
            var prompt = new JsonObject { ["code"] = p.Code, ["message"] = p.Message };
            if (p.Task is not null)
            {
                prompt["task"] = p.Task;
                prompt["due_at"] = p.DueAt;
            }
            if (p.Date is { } date)
            {
                prompt["date"] = date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            }
            prompts.Add(prompt);
        }
        profile["prompts"] = prompts;
        return Results.Json(profile);
    }

    private static async Task<IResult> Get(string customerId, CustomerLookup customers, CustomerRules rules, TimeProvider clock, CancellationToken ct)
    {
        if (!CustomerIdFormat().IsMatch(customerId))
        {
            return Problem(400, "customer_id must be 'c' followed by 22 lowercase hex digits");
        }
        var state = await customers.CustomerAsync(customerId, ct);
        return state is null ? Problem(404, "no such customer") : Results.Json(ProfileJson(state, clock, rules));
    }

    private static async Task<IResult> Erase(string customerId, HttpContext http, ActorRegistry registry, SinkService sinks, ClickHouseProfileWriter profiles, AuditLog audit, ILoggerFactory loggers, CancellationToken ct)
    {
        if (!CustomerIdFormat().IsMatch(customerId))
        {
            return Problem(400, "customer_id must be 'c' followed by 22 lowercase hex digits");
        }
        var erased = await registry.Get<CustomerRegion>().Ask<CustomerErased>(new EraseCustomer(customerId), TimeSpan.FromSeconds(30), ct);
        // Then the analytics rows (profiles deleted, sales and touches anonymized). Also for an id the
        // customers no longer know: a retry after a failure here still finishes the job.
        try
        {
            await profiles.ForgetAsync(customerId, ct); // no gathered profile row may land after the delete
            await (await sinks.Ready).EraseCustomerAsync(customerId, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            loggers.CreateLogger(typeof(CustomerApi)).LogError(e, "Erasing the analytics rows of customer {CustomerId} failed", customerId);
            // ClickHouse is down: the audit row waits for it in the sink; the log has it now.
            audit.Record(audit.Row(http, AuditLog.Erase, "failed", 503, customerId, "ClickHouse rows not erased yet; to be repeated"));
            return Problem(503, "the customer's ClickHouse rows could not be erased yet; repeat the DELETE");
        }
        // Who erased whom, durably, before the answer (docs/security.md).
        await audit.RecordDurablyAsync(audit.Row(http, AuditLog.Erase, erased.Found ? "erased" : "not_found", erased.Found ? 200 : 404, customerId,
            erased.Found ? "customer, its ids and its ClickHouse rows erased" : "no such customer; ClickHouse rows erased if any"), ct);
        return erased.Found
            ? Results.Json(new ErasureAnswer(erased.CustomerId, Erased: true))
            : Problem(404, "no such customer");
    }

    private static JsonObject ProfileJson(CustomerState state, TimeProvider clock, CustomerRules rules) =>
        JsonNode.Parse(Profile.ToJson(state, clock.GetUtcNow(), rules))!.AsObject();
}
