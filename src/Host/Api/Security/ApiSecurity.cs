using System.Globalization;
using Microsoft.AspNetCore.Authentication;
using System.Security.Claims;
using System.Text.Json.Nodes;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.RateLimiting;
using Siyu.Host.Configuration;

namespace Siyu.Host.Api.Security;

/// <summary>
/// Who may call the API, with ASP.NET Core's own authentication, authorization and rate limiting
/// (docs/security.md): an <c>X-Api-Key</c> from <c>Api:Keys</c> or, when <c>Api:Jwt:Authority</c>
/// is set, a bearer token from the brand's identity provider. Policy <see cref="Pos"/> (lookup,
/// profile, campaign live) admits roles pos and admin; <see cref="Admin"/> (erasure, cluster)
/// admin only. /health is open; /metrics as <c>Api:OpenMetrics</c> says; anything else needs a
/// credential, so an unknown path is a 401 too. 401, 403 and 429 are audited.
/// </summary>
public static class ApiSecurity
{
    public const string Pos = "pos";
    public const string Admin = "admin";
    public const string MethodClaim = "siyu_auth_method";
    private const string Selector = "siyu";

    public static void AddSiyuApiSecurity(this IServiceCollection services, ApiSettings api)
    {
        var auth = services.AddAuthentication(Selector)
            .AddPolicyScheme(Selector, "API key or bearer token", o => o.ForwardDefaultSelector = http =>
                api.Jwt.Enabled && http.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? JwtBearerDefaults.AuthenticationScheme
                    : ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        if (api.Jwt.Enabled)
        {
            auth.AddJwtBearer(o =>
            {
                o.Authority = api.Jwt.Authority;
                o.Audience = api.Jwt.Audience;
                o.RequireHttpsMetadata = api.Jwt.RequireHttpsMetadata;
                o.MapInboundClaims = false; // role and subject claims keep the names the provider gives them
                o.TokenValidationParameters.RoleClaimType = api.Jwt.RoleClaim;
                o.TokenValidationParameters.NameClaimType = api.Jwt.NameClaim;
            });
        }

        services.AddAuthorization(o =>
        {
            if (api.AllowAnonymous)
            {
                // Said explicitly (Api:AllowAnonymous=true): every endpoint open, nothing enforced.
                o.AddPolicy(Pos, p => p.RequireAssertion(_ => true));
                o.AddPolicy(Admin, p => p.RequireAssertion(_ => true));
                return;
            }
            o.AddPolicy(Pos, p => p.RequireAuthenticatedUser().RequireRole(ApiRoles.Pos, ApiRoles.Admin));
            o.AddPolicy(Admin, p => p.RequireAuthenticatedUser().RequireRole(ApiRoles.Admin));
            o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
        });
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, AuditedAuthorizationResults>();
        services.AddSingleton<AuditLog>();

        // Per credential: a leaked POS key cannot walk phone numbers to find who is a member.
        // Requests without one share a bucket per client address.
        services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            {
                var path = http.Request.Path;
                if (path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics"))
                {
                    return RateLimitPartition.GetNoLimiter("probes");
                }
                var who = http.User.Identity?.IsAuthenticated == true
                    ? "id:" + http.User.Identity.Name
                    : "ip:" + http.Connection.RemoteIpAddress;
                return RateLimitPartition.GetTokenBucketLimiter(who, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = api.RateBurst,
                    TokensPerPeriod = api.RatePerSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            o.OnRejected = async (context, ct) =>
            {
                var http = context.HttpContext;
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                http.RequestServices.GetRequiredService<AuditLog>().Record(
                    http.RequestServices.GetRequiredService<AuditLog>().Row(http, AuditLog.Denied, "rate_limited", 429,
                        detail: $"more than {api.RatePerSecond} requests/s (burst {api.RateBurst}) for this credential"));
                await http.Response.WriteAsJsonAsync(new JsonObject { ["error"] = $"too many requests; retry after {seconds} s" }, ct);
            };
        });
    }

    /// <summary>Authentication, then the rate limit (it needs to know who), then authorization.</summary>
    public static void UseSiyuApiSecurity(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
    }

    /// <summary>
    /// The endpoint needs <paramref name="policy"/> (<see cref="Pos"/> or <see cref="Admin"/>), and its
    /// OpenAPI entry says so: 401 without an accepted credential, 403 with the wrong role, 429 over the rate.
    /// </summary>
    public static RouteHandlerBuilder RequireRole(this RouteHandlerBuilder endpoint, string policy) =>
        endpoint.RequireAuthorization(policy)
            .WithRoleInDocument(policy)
            .Produces<ApiError>(StatusCodes.Status401Unauthorized)
            .Produces<ApiError>(StatusCodes.Status403Forbidden)
            .Produces<ApiError>(StatusCodes.Status429TooManyRequests);

    /// <summary>/health stays open for orchestrators; /metrics as configured.</summary>
    public static void Open(IEndpointConventionBuilder health, IEndpointConventionBuilder metrics, ApiSettings api)
    {
        health.AllowAnonymous();
        if (api.OpenMetrics)
        {
            metrics.AllowAnonymous();
        }
        else
        {
            metrics.RequireAuthorization(Admin);
        }
    }
}

/// <summary>401 and 403 with a JSON body that says what is missing, each one audited.</summary>
public sealed class AuditedAuthorizationResults(AuditLog audit) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged)
        {
            var presented = context.Request.Headers.ContainsKey(ApiKeys.Header) || context.Request.Headers.Authorization.Count > 0;
            var detail = presented
                ? $"the credential was not accepted ({(context.Request.Headers.ContainsKey(ApiKeys.Header) ? "unknown API key" : "invalid or expired bearer token")})"
                : $"no credential: send {ApiKeys.Header} or Authorization: Bearer";
            audit.Record(audit.Row(context, AuditLog.Denied, "unauthenticated", 401, CustomerIdOf(context), detail));
            await context.ChallengeAsync();
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await context.Response.WriteAsJsonAsync(new JsonObject { ["error"] = detail });
            return;
        }
        if (authorizeResult.Forbidden)
        {
            var roles = string.Join(",", context.User.FindAll(context.User.Identities.First().RoleClaimType).Select(c => c.Value));
            var detail = $"role '{roles}' may not {context.Request.Method} {(context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText}; it needs {string.Join(" or ", Needed(policy))}";
            audit.Record(audit.Row(context, AuditLog.Denied, "forbidden", 403, CustomerIdOf(context), detail));
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await context.Response.WriteAsJsonAsync(new JsonObject { ["error"] = detail });
            return;
        }
        await _default.HandleAsync(next, context, policy, authorizeResult);
    }

    private static IEnumerable<string> Needed(AuthorizationPolicy policy) =>
        policy.Requirements.OfType<Microsoft.AspNetCore.Authorization.Infrastructure.RolesAuthorizationRequirement>()
            .SelectMany(r => r.AllowedRoles).DefaultIfEmpty("a credential");

    private static string CustomerIdOf(HttpContext context) =>
        context.Request.RouteValues.TryGetValue("customerId", out var id) && id is string s && s.Length <= 64 ? s : "";
}
