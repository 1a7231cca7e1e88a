using System.Security.Cryptography;
using System.Text;

namespace Siyu.Tests.Shared;

/// <summary>
/// The API keys every test node is given (settings hold only their hashes, as in production):
/// an admin key the tests' HTTP clients send by default, and a pos key for the role tests.
/// </summary>
public static class TestApiKeys
{
    public const string Header = "X-Api-Key";
    public const string AdminName = "test-admin";
    public const string PosName = "test-pos";
    public const string Admin = "sk_test-admin-key-not-secret-0000000000000000";
    public const string Pos = "sk_test-pos-key-not-secret-00000000000000000000";

    public static string Hash(string key) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>As settings keys (siyu.json's shape), for an in-process node.</summary>
    public static Dictionary<string, string?> Settings() => new()
    {
        [$"Api:Keys:{AdminName}:Role"] = "admin",
        [$"Api:Keys:{AdminName}:Hash"] = Hash(Admin),
        [$"Api:Keys:{PosName}:Role"] = "pos",
        [$"Api:Keys:{PosName}:Hash"] = Hash(Pos),
        // Tests poll the API fast; the rate limit has its own test (ApiSecurityTests).
        ["Api:RatePerSecond"] = "100000",
        ["Api:RateBurst"] = "100000",
    };

    /// <summary>As SIYU_* environment variables, for a `siyu run` process.</summary>
    public static Dictionary<string, string> Environment() =>
        Settings().ToDictionary(kv => "SIYU_" + kv.Key.Replace(":", "__", StringComparison.Ordinal), kv => kv.Value!);

    /// <summary>A client of the API at <paramref name="baseAddress"/> sending <paramref name="key"/> (none when null).</summary>
    public static HttpClient Client(Uri baseAddress, string? key = Admin, TimeSpan? timeout = null)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        if (key is not null)
        {
            http.DefaultRequestHeaders.Add(Header, key);
        }
        return http;
    }
}
