using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Siyu.Actors.Customers;
using Siyu.Host.Api.Security;

namespace Siyu.Host.Api;

/// <summary>
/// The OpenAPI document at <c>GET /openapi/v1.json</c> (Microsoft.AspNetCore.OpenApi): every
/// endpoint with its parameters, answers and error bodies, generated from the handlers' metadata
/// and the records they write, so it cannot name a field the API does not write.
/// <c>OpenApiDocumentTests</c> checks every mapped route is in it and real answers match it.
/// </summary>
public static class ApiDocument
{
    public const string Path = "/openapi/v1.json";

    public static IServiceCollection AddSiyuOpenApi(this IServiceCollection services)
    {
        // The API writes snake_case and plain JSON numbers; the document describes exactly that.
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        });
        return services.AddOpenApi("v1", o =>
        {
            o.AddDocumentTransformer(async (document, context, ct) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Siyu HTTP API",
                    Version = "v1",
                    Description = "Customer lookups for the POS, profiles, PIPL erasure, live campaign figures, sales totals, "
                        + "the cluster view, health and metrics. Every 4xx/5xx answer is {\"error\": \"what is wrong\"}. "
                        + "Times are RFC 3339; money is yuan.",
                };
                // How a caller proves who it is (docs/security.md); each endpoint names its role.
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[ApiKeyAuthenticationHandler.SchemeName] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.ApiKey,
                    In = ParameterLocation.Header,
                    Name = ApiKeys.Header,
                    Description = "A key of Api:Keys (the settings hold its name, its role and a hash of it, never the key)",
                };
                document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    BearerFormat = "JWT",
                    Description = "When Api:Jwt:Authority is set: a token of the brand's identity provider for Api:Jwt:Audience; its role claim is pos or admin",
                };
                // /health and /metrics are not route handlers, so the generator does not see them.
                document.Paths ??= new OpenApiPaths();
                var health = await context.GetOrCreateSchemaAsync(typeof(HealthBody), null, ct);
                document.Paths["/health"] = PathItem(HttpMethod.Get, new OpenApiOperation
                {
                    Summary = "Whether this node works: cluster member Up, ingest running, journal saving, ClickHouse taking inserts",
                    Tags = Tag(document, "Operations"),
                    Responses = new OpenApiResponses
                    {
                        ["200"] = Json("Healthy (or Degraded): each check's status and reason", health),
                        ["503"] = Json("Unhealthy: the checks say which part fails and why", health),
                    },
                });
                document.Paths["/metrics"] = PathItem(HttpMethod.Get, new OpenApiOperation
                {
                    Summary = "Prometheus metrics (text exposition format)",
                    Tags = Tag(document, "Operations"),
                    Responses = new OpenApiResponses
                    {
                        ["200"] = new OpenApiResponse
                        {
                            Description = "siyu_* metrics and the .NET runtime's",
                            Content = new Dictionary<string, OpenApiMediaType>
                            {
                                ["text/plain"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
                            },
                        },
                    },
                });
            });
        });
    }

    /// <summary>The name of the JWT bearer scheme in the document.</summary>
    public const string Bearer = "Bearer";

    /// <summary>The operation needs a credential of one of the schemes with <paramref name="role"/> (admin may do what pos may).</summary>
    public static RouteHandlerBuilder WithRoleInDocument(this RouteHandlerBuilder builder, string role) =>
        builder.AddOpenApiOperationTransformer((operation, context, _) =>
        {
            operation.Security ??= [];
            foreach (var scheme in new[] { ApiKeyAuthenticationHandler.SchemeName, Bearer })
            {
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, context.Document)] = [role] });
            }
            var who = role == ApiSecurity.Admin ? "role admin" : "role pos or admin";
            operation.Description = string.IsNullOrEmpty(operation.Description) ? $"Needs {who}." : $"{operation.Description} Needs {who}.";
            return Task.CompletedTask;
        });

    /// <summary>A query parameter the handler reads itself (so the generator cannot see it).</summary>
    public static OpenApiParameter Query(string name, string description, bool required = false, IEnumerable<string>? values = null, string? format = null) => new()
    {
        Name = name,
        In = ParameterLocation.Query,
        Required = required,
        Description = description,
        Schema = new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Format = format,
            Enum = values?.Select(v => (JsonNode)JsonValue.Create(v)).ToList(),
        },
    };

    /// <summary>Adds query parameters to an endpoint whose handler reads <c>HttpRequest.Query</c>.</summary>
    public static RouteHandlerBuilder WithQuery(this RouteHandlerBuilder builder, params OpenApiParameter[] parameters) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            foreach (var p in parameters)
            {
                operation.Parameters.Add(p);
            }
            return Task.CompletedTask;
        });

    /// <summary>The answer's schema is the profile's plus <c>prompts</c> (the lookup).</summary>
    public static RouteHandlerBuilder WithProfileAndPrompts(this RouteHandlerBuilder builder) =>
        builder.AddOpenApiOperationTransformer(async (operation, context, ct) =>
        {
            var prompt = await context.GetOrCreateSchemaAsync(typeof(PosPromptBody), null, ct);
            var schema = new OpenApiSchema
            {
                AllOf =
                [
                    new OpenApiSchemaReference(nameof(CustomerProfile), context.Document),
                    new OpenApiSchema
                    {
                        Type = JsonSchemaType.Object,
                        Required = new HashSet<string> { "prompts" },
                        Properties = new Dictionary<string, IOpenApiSchema>
                        {
                            ["prompts"] = new OpenApiSchema { Type = JsonSchemaType.Array, Items = prompt, Description = "What the cashier should do or say" },
                        },
                    },
                ],
            };
            operation.Responses!["200"] = Json("The customer's profile (the survivor's, for a merged customer) with the cashier's prompts", schema);
        });

    private static OpenApiPathItem PathItem(HttpMethod method, OpenApiOperation operation)
    {
        var item = new OpenApiPathItem();
        item.AddOperation(method, operation);
        return item;
    }

    private static HashSet<OpenApiTagReference> Tag(OpenApiDocument document, string name)
    {
        document.Tags ??= new HashSet<OpenApiTag>();
        if (!document.Tags.Any(t => t.Name == name))
        {
            document.Tags.Add(new OpenApiTag { Name = name });
        }
        return [new OpenApiTagReference(name, document)];
    }

    private static OpenApiResponse Json(string description, IOpenApiSchema schema) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
    };
}

/// <summary>A cashier prompt of the lookup: code, message, and for some codes the task, its due time or a date.</summary>
public sealed record PosPromptBody(
    string Code,
    string Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Task = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? DueAt = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Date = null);

/// <summary>The answer of a successful erasure.</summary>
public sealed record ErasureAnswer(string CustomerId, bool Erased);

/// <summary>The body of <c>GET /health</c>: overall status (Healthy, Degraded, Unhealthy) and each check's.</summary>
public sealed record HealthBody(string Status, IReadOnlyDictionary<string, HealthCheckBody> Checks);

/// <summary>One check of <c>GET /health</c> (cluster, ingest, journal, clickhouse): its status and why.</summary>
public sealed record HealthCheckBody(string Status, string? Description);
