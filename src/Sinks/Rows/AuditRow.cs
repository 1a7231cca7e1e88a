namespace Siyu.Sinks.Rows;

/// <summary>
/// One audited API event in <c>siyu.audit_log</c> (006_audit.sql): every erasure and every denied
/// request. No personal data beyond the pseudonymous customer id: never a phone, a query string,
/// a key or a client address.
/// </summary>
public sealed record AuditRow
{
    public required DateTimeOffset At { get; init; }

    /// <summary><c>erase</c> or <c>denied</c>.</summary>
    public required string Action { get; init; }

    /// <summary>erase: <c>erased</c>, <c>not_found</c>, <c>failed</c>; denied: <c>unauthenticated</c> (401), <c>forbidden</c> (403), <c>rate_limited</c> (429).</summary>
    public required string Outcome { get; init; }

    public required int Status { get; init; }

    /// <summary>The API key's name or the token's subject; empty when no credential was accepted.</summary>
    public string Principal { get; init; } = "";

    /// <summary><c>api_key</c>, <c>jwt</c> or <c>none</c>.</summary>
    public string AuthMethod { get; init; } = "none";

    public string Role { get; init; } = "";

    public required string Method { get; init; }

    /// <summary>The route, e.g. <c>/v1/customers/{customerId}</c>, never the query string (it may hold a phone).</summary>
    public required string Route { get; init; }

    public string CustomerId { get; init; } = "";

    /// <summary>Why, in words ("the API key is not one this node knows", "role pos may not erase").</summary>
    public string Detail { get; init; } = "";

    /// <summary>The node that answered.</summary>
    public string Node { get; init; } = "";
}
