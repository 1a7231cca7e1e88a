using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Siyu.Contracts.Events;
using Xunit.Abstractions;

namespace Siyu.Host.Tests;

/// <summary>
/// GET /openapi/v1.json of a real node: every route the node maps is in it with its parameters,
/// and what the node really answers (successes and errors) is what the document says, field for
/// field: a field written but not documented, or documented as required and missing, fails.
/// </summary>
[Collection(NodeCollection.Name)]
public sealed partial class OpenApiDocumentTests(NodeFixture node, ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = NodeFixture.Start.AddDays(-1);

    [GeneratedRegex(@"\{([^}:?]+)")]
    private static partial Regex RouteParameter();

    private async Task<JsonObject> Document()
    {
        var response = await node.Http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    [Fact]
    public async Task Every_mapped_route_is_in_the_document_with_its_parameters_answers_and_error_bodies()
    {
        var doc = await Document();
        Assert.StartsWith("3.", (string)doc["openapi"]!);
        var paths = doc["paths"]!.AsObject();
        var routes = ((IEndpointRouteBuilder)node.Node.App).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText != Siyu.Host.Api.ApiDocument.Path)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Path: e.RoutePattern.RawText!, Method: m.ToLowerInvariant(),
                Role: e.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAllowAnonymous>() is null
                    ? e.Metadata.GetOrderedMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>().Select(a => a.Policy).FirstOrDefault() : null)))
            .Distinct().ToList();
        Assert.True(routes.Count >= 8, string.Join(", ", routes));
        var schemes = doc["components"]!["securitySchemes"]!.AsObject();
        Assert.Equal(("apiKey", "header", "X-Api-Key"), ((string)schemes["ApiKey"]!["type"]!, (string)schemes["ApiKey"]!["in"]!, (string)schemes["ApiKey"]!["name"]!));
        Assert.Equal(("http", "bearer"), ((string)schemes["Bearer"]!["type"]!, (string)schemes["Bearer"]!["scheme"]!));
        Assert.Contains(routes, r => r.Role == "admin");
        Assert.Contains(routes, r => r.Role == "pos");
        foreach (var (path, method, role) in routes)
        {
            // A guarded endpoint says which credential and role it needs, and what a refusal answers.
            var security = paths[path]?[method]?["security"]?.AsArray();
            if (role is null)
            {
                Assert.True(security is null, $"{method} {path} is open but the document asks for a credential");
            }
            else
            {
                Assert.True(security is { Count: 2 }, $"{method} {path} needs role {role} but the document names no credential");
                Assert.All(security!, r => Assert.Equal([role], r!.AsObject().Single().Value!.AsArray().Select(v => (string)v!)));
                Assert.All(new[] { "401", "403", "429" }, status => Assert.NotNull(paths[path]![method]!["responses"]![status]));
            }
        }
        foreach (var (path, method, _) in routes)
        {
            var operation = paths[path]?[method];
            Assert.True(operation is not null, $"{method.ToUpperInvariant()} {path} is mapped but not in the document");
            Assert.False(string.IsNullOrWhiteSpace((string?)operation!["summary"]), $"{method} {path}: no summary");
            var responses = operation["responses"]!.AsObject();
            Assert.True(responses.ContainsKey("200"), $"{method} {path}: no 200 answer");
            foreach (var (status, response) in responses)
            {
                Assert.False(string.IsNullOrWhiteSpace((string?)response!["description"]), $"{method} {path} {status}: no description");
                var content = response["content"]?.AsObject();
                Assert.True(content is { Count: > 0 }, $"{method} {path} {status}: no body described");
                if (status[0] is '4' || (status[0] is '5' && path != "/health"))
                {
                    Assert.Equal("#/components/schemas/ApiError", (string?)content!["application/json"]?["schema"]?["$ref"]);
                }
            }
            var parameters = operation["parameters"]?.AsArray().Select(p => ((string)p!["in"]!, (string)p["name"]!)).ToList() ?? [];
            foreach (Match m in RouteParameter().Matches(path))
            {
                Assert.Contains(("path", m.Groups[1].Value), parameters);
            }
        }
        // Query parameters the handlers read themselves are listed too.
        var lookup = paths["/v1/customers/lookup"]!["get"]!["parameters"]!.AsArray().Select(p => (string)p!["name"]!);
        Assert.Equal(["member_id", "phone", "unionid", "openid", "external_userid", "app_user_id"], lookup);
        var summary = paths["/v1/sales/summary"]!["get"]!["parameters"]!.AsArray();
        Assert.Equal(["by", "from", "to"], summary.Select(p => (string)p!["name"]!));
        Assert.Equal(["rule", "campaign", "guide", "group", "store"], summary[0]!["schema"]!["enum"]!.AsArray().Select(v => (string)v!));
        Assert.Equal(["campaignId", "from", "to"], paths["/v1/campaigns/{campaignId}/live"]!["get"]!["parameters"]!.AsArray().Select(p => (string)p!["name"]!));
        output.WriteLine($"{routes.Count} routes: {string.Join(", ", routes.Select(r => $"{r.Method.ToUpperInvariant()} {r.Path}"))}");
    }

    [Fact]
    public async Task Real_answers_and_errors_are_what_the_document_says()
    {
        var doc = await Document();
        await node.SendAsync(new OrderPlaced
        {
            EventId = "oas-1", OccurredAt = T0, Channel = Channel.Pos, StoreId = "S001", Ids = new CustomerIds { MemberId = "OAS-M1" },
            OrderId = "O-oas-1", Amount = 42.5m, Items = [new LineItem("CHERRY-5J", 1, 42.5m)], Payment = Payment.Cash, GuideId = "G-OAS",
        });
        var found = await NodeFixture.Eventually(() => node.Http.GetAsync("/v1/customers/lookup?member_id=OAS-M1"), r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        var id = (string)JsonNode.Parse(await found.Content.ReadAsStringAsync())!["customer_id"]!;
        var from = Uri.EscapeDataString(T0.AddHours(-1).ToString("O"));
        var to = Uri.EscapeDataString(T0.AddHours(1).ToString("O"));

        var calls = new (HttpMethod Method, string Url, string Path, HttpStatusCode? Expected)[]
        {
            (HttpMethod.Get, "/v1/customers/lookup?member_id=OAS-M1", "/v1/customers/lookup", HttpStatusCode.OK),
            (HttpMethod.Get, "/v1/customers/lookup?member_id=OAS-NOBODY", "/v1/customers/lookup", HttpStatusCode.NotFound),
            (HttpMethod.Get, "/v1/customers/lookup?passport=X", "/v1/customers/lookup", HttpStatusCode.BadRequest),
            (HttpMethod.Get, $"/v1/customers/{id}", "/v1/customers/{customerId}", HttpStatusCode.OK),
            (HttpMethod.Get, "/v1/customers/c0000000000000000000000", "/v1/customers/{customerId}", HttpStatusCode.NotFound),
            (HttpMethod.Get, "/v1/customers/nope", "/v1/customers/{customerId}", HttpStatusCode.BadRequest),
            (HttpMethod.Get, $"/v1/campaigns/OAS-UNKNOWN/live?from={from}&to={to}", "/v1/campaigns/{campaignId}/live", HttpStatusCode.OK),
            (HttpMethod.Get, "/v1/campaigns/OAS-UNKNOWN/live?from=yesterday", "/v1/campaigns/{campaignId}/live", HttpStatusCode.BadRequest),
            (HttpMethod.Get, $"/v1/sales/summary?by=guide&from={from}&to={to}", "/v1/sales/summary", HttpStatusCode.OK),
            (HttpMethod.Get, "/v1/sales/summary?by=weather", "/v1/sales/summary", HttpStatusCode.BadRequest),
            (HttpMethod.Get, "/v1/cluster", "/v1/cluster", HttpStatusCode.OK),
            (HttpMethod.Get, "/health", "/health", null), // 200 or 503, as the shared node is
            (HttpMethod.Delete, "/v1/customers/nope", "/v1/customers/{customerId}", HttpStatusCode.BadRequest),
            (HttpMethod.Delete, "/v1/customers/c0000000000000000000000", "/v1/customers/{customerId}", HttpStatusCode.NotFound),
            (HttpMethod.Delete, $"/v1/customers/{id}", "/v1/customers/{customerId}", HttpStatusCode.OK),
        };
        foreach (var (method, url, path, expected) in calls)
        {
            using var response = await node.Http.SendAsync(new HttpRequestMessage(method, url));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(expected is null || expected == response.StatusCode, $"{method} {url}: {(int)response.StatusCode} {body}");
            var documented = doc["paths"]![path]![method.Method.ToLowerInvariant()]!["responses"]![((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)];
            Assert.True(documented is not null, $"{method} {url} answered {(int)response.StatusCode}, which the document does not list");
            var schema = Strict(doc, documented!["content"]!["application/json"]!["schema"]!);
            var result = schema.Evaluate(JsonDocument.Parse(body).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            var errors = (result.Details ?? []).Where(d => d.Errors is { Count: > 0 }).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"));
            Assert.True(result.IsValid, $"{method} {url} ({(int)response.StatusCode}) does not match the document: {string.Join("; ", errors.Take(8))}\n{body}");
        }

        using var metrics = await node.Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        // What deploy/prometheus/alerts.yml watches for the journal.
        Assert.Contains("\nsiyu_journal_failing 0", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotNull(doc["paths"]!["/metrics"]!["get"]!["responses"]!["200"]!["content"]!["text/plain"]);
    }

    /// <summary>
    /// The documented schema as a JSON Schema (OpenAPI 3.1 schemas are 2020-12), with every
    /// object closed to fields it does not name, so a field the API writes but the document
    /// omits fails. An allOf (the lookup: profile plus prompts) is closed as one object.
    /// </summary>
    private static JsonSchema Strict(JsonObject doc, JsonNode schema)
    {
        var defs = JsonNode.Parse(doc["components"]?["schemas"]?.ToJsonString() ?? "{}")!.AsObject();
        foreach (var (_, def) in defs)
        {
            if (def is JsonObject o && o["properties"] is not null)
            {
                o["additionalProperties"] = false;
            }
        }
        var root = JsonNode.Parse(schema.ToJsonString())!.AsObject();
        if (root["allOf"] is JsonArray parts)
        {
            var properties = new JsonObject();
            var required = new JsonArray();
            foreach (var part in parts)
            {
                var resolved = part!["$ref"] is { } r ? defs[((string)r!).Split('/')[^1]]! : part;
                foreach (var (name, p) in resolved["properties"]!.AsObject())
                {
                    properties[name] = p!.DeepClone();
                }
                foreach (var name in resolved["required"]?.AsArray() ?? [])
                {
                    required.Add(name!.DeepClone());
                }
            }
            root = new JsonObject { ["type"] = "object", ["properties"] = properties, ["required"] = required, ["additionalProperties"] = false };
        }
        root["$schema"] = "https://json-schema.org/draft/2020-12/schema";
        root["$defs"] = defs;
        var json = root.ToJsonString().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal);
        return JsonSchema.FromText(json, new BuildOptions { SchemaRegistry = new SchemaRegistry() });
    }
}
