using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Siyu.Host.Configuration;

namespace Siyu.Host.Api.Security;

/// <summary>
/// API keys: random 256-bit secrets given to a POS fleet or an operator. Settings hold only a
/// key's name, its role and SHA-256 of the key (a fast hash is right for a random 256-bit key:
/// there is nothing to guess), so a leaked settings file or environment grants nothing.
/// </summary>
public static class ApiKeys
{
    public const string Header = "X-Api-Key";
    public const string HashPrefix = "sha256:";

    /// <summary>A new key: "sk_" and 43 base64url characters (32 random bytes).</summary>
    public static string Generate() =>
        "sk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>What settings hold for <paramref name="key"/>: "sha256:" and 64 lowercase hex digits.</summary>
    public static string Hash(string key) => HashPrefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static bool IsHash(string value) =>
        value.StartsWith(HashPrefix, StringComparison.Ordinal) && value.Length == HashPrefix.Length + 64
        && value[HashPrefix.Length..].All(char.IsAsciiHexDigitLower);

    /// <summary>
    /// The configured key matching <paramref name="presented"/>, or null. Every configured hash is
    /// compared, each in constant time, so the answer's timing says nothing about which key or
    /// how much of it matched.
    /// </summary>
    public static (string Name, string Role)? Find(IReadOnlyDictionary<string, ApiKeySettings> keys, string presented)
    {
        Span<byte> given = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), given);
        (string, string)? found = null;
        foreach (var (name, key) in keys)
        {
            var expected = Convert.FromHexString(key.Hash.AsSpan(HashPrefix.Length));
            if (CryptographicOperations.FixedTimeEquals(given, expected))
            {
                found = (name, key.Role);
            }
        }
        return found;
    }
}

/// <summary>ASP.NET Core authentication from the <c>X-Api-Key</c> header against <c>Api:Keys</c>.</summary>
public sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, SiyuSettings settings)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(ApiKeys.Header, out var values) || values.Count == 0 || string.IsNullOrEmpty(values[0]))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        if (values.Count > 1 || ApiKeys.Find(settings.Api.Keys, values[0]!) is not { } key)
        {
            return Task.FromResult(AuthenticateResult.Fail("the API key is not one this node knows"));
        }
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, key.Name), new Claim(ClaimTypes.Role, key.Role), new Claim(ApiSecurity.MethodClaim, "api_key")],
            SchemeName, ClaimTypes.Name, ClaimTypes.Role);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = $"{SchemeName} header=\"{ApiKeys.Header}\"";
        return Task.CompletedTask;
    }
}
