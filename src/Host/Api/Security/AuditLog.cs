using System.Security.Claims;
using Siyu.Host.Node;
using Siyu.Sinks.Rows;

namespace Siyu.Host.Api.Security;

/// <summary>
/// Every erasure and every denied API request, in the structured log at once and in ClickHouse
/// (<c>siyu.audit_log</c>). An erasure's row is inserted before the DELETE answers; a denial's
/// is queued (a flood of refused requests must not wait on ClickHouse), and reaches the table
/// once ClickHouse takes inserts.
/// </summary>
public sealed class AuditLog(SinkService sinks, TimeProvider clock, ILogger<AuditLog> log)
{
    private readonly string _node = Environment.MachineName;

    public const string Erase = "erase";
    public const string Denied = "denied";

    public AuditRow Row(HttpContext http, string action, string outcome, int status, string customerId = "", string detail = "")
    {
        var user = http.User;
        var authenticated = user.Identity?.IsAuthenticated == true;
        return new AuditRow
        {
            At = clock.GetUtcNow(),
            Action = action,
            Outcome = outcome,
            Status = status,
            Principal = authenticated ? user.Identity!.Name ?? "" : "",
            AuthMethod = authenticated ? user.FindFirst(ApiSecurity.MethodClaim)?.Value ?? "jwt" : "none",
            Role = authenticated ? string.Join(",", user.FindAll(user.Identities.First().RoleClaimType).Select(c => c.Value)) : "",
            Method = http.Request.Method,
            // The route template where there is one: a path such as /v1/customers/lookup never
            // carries the query (it may hold a phone).
            Route = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? Truncate(http.Request.Path.Value ?? ""),
            CustomerId = customerId,
            Detail = detail,
            Node = _node,
        };
    }

    /// <summary>An erasure: logged, then inserted and flushed before the caller answers.</summary>
    public async Task RecordDurablyAsync(AuditRow row, CancellationToken ct)
    {
        Log(row);
        var ready = await sinks.Ready;
        await ready.Audit.WriteAsync(row, ct);
        await ready.Audit.FlushAsync(ct);
    }

    /// <summary>A denial: logged now, inserted in the background.</summary>
    public void Record(AuditRow row)
    {
        Log(row);
        _ = Task.Run(async () =>
        {
            try
            {
                var ready = await sinks.Ready;
                await ready.Audit.WriteAsync(row);
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Audit row ({Action} {Outcome} {Route}) not written to ClickHouse; it is in this log", row.Action, row.Outcome, row.Route);
            }
        });
    }

    private void Log(AuditRow r)
    {
        var level = r.Action == Erase && r.Outcome == "erased" ? LogLevel.Information : LogLevel.Warning;
        log.Log(level, "Audit {AuditAction} {AuditOutcome} {Status} {Method} {Route} principal={Principal} auth={AuthMethod} role={Role} customer={CustomerId}: {Detail}",
            r.Action, r.Outcome, r.Status, r.Method, r.Route, r.Principal, r.AuthMethod, r.Role, r.CustomerId, r.Detail);
    }

    private static string Truncate(string s) => s.Length <= 200 ? s : s[..200];
}
