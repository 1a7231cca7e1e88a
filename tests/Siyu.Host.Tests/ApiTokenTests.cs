using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Siyu.Contracts;
using Siyu.Kafka;
using Siyu.Sinks.ClickHouse.Embedded;
using Siyu.Tests.Shared;

namespace Siyu.Host.Tests;

/// <summary>
/// Issue #15, item 1: bearer tokens from the brand's identity provider. A real OpenID Connect
/// discovery document and key set served over HTTP by a small provider in this test, a real node
/// validating with JwtBearer against them: the role claim decides (pos reads, admin erases), and
/// a token that is expired, for another audience or signed by another key is a 401. A node told
/// to run open answers without any credential.
/// </summary>
[Collection(NodeCollection.Name)]
public sealed class ApiTokenTests(NodeFixture fixture)
{
    private const string Audience = "siyu-api";

    /// <summary>A minimal identity provider: discovery and the public key set, nothing else.</summary>
    private sealed class Provider : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly RsaSecurityKey _key;

        public string Authority { get; }

        private Provider(WebApplication app, RsaSecurityKey key, string authority)
        {
            _app = app;
            _key = key;
            Authority = authority;
        }

        public static async Task<Provider> StartAsync()
        {
            var port = FreePort.Next();
            var authority = $"http://127.0.0.1:{port}";
            var key = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "k1" };
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls(authority);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            var app = builder.Build();
            app.MapGet("/.well-known/openid-configuration", () => Results.Json(new JsonObject
            {
                ["issuer"] = authority,
                ["jwks_uri"] = authority + "/jwks",
                ["id_token_signing_alg_values_supported"] = new JsonArray("RS256"),
            }));
            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(key);
            app.MapGet("/jwks", () => Results.Json(new JsonObject
            {
                ["keys"] = new JsonArray(new JsonObject { ["kty"] = "RSA", ["use"] = "sig", ["kid"] = jwk.Kid, ["n"] = jwk.N, ["e"] = jwk.E, ["alg"] = "RS256" }),
            }));
            await app.StartAsync();
            return new Provider(app, key, authority);
        }

        public string Token(string subject, string role, string audience = Audience, DateTime? expires = null, SecurityKey? signWith = null)
        {
            var notBefore = (expires ?? DateTime.UtcNow.AddMinutes(10)).AddMinutes(-20);
            return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = Authority,
                Audience = audience,
                Subject = new ClaimsIdentity([new Claim("sub", subject), new Claim("roles", role)]),
                NotBefore = notBefore,
                IssuedAt = notBefore,
                Expires = expires ?? DateTime.UtcNow.AddMinutes(10),
                SigningCredentials = new SigningCredentials(signWith ?? _key, SecurityAlgorithms.RsaSha256),
            });
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }

    private static HttpClient Bearer(TestNode node, string token)
    {
        var http = node.Client(null);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    [Fact]
    public async Task Tokens_from_the_identity_provider_are_checked_and_their_role_decides()
    {
        await using var provider = await Provider.StartAsync();
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 1 });
        foreach (var t in new Topics().All)
        {
            broker.CreateTopic(t);
        }
        var since = fixture.Clock.GetUtcNow().AddSeconds(-1);
        await using var node = await TestNode.StartAsync(broker.BootstrapServers, Directory.CreateTempSubdirectory("siyu-jwt-").FullName, fixture.ChDbPath,
            new Dictionary<string, string?>
            {
                ["Kafka:GroupId"] = "jwt-" + Guid.NewGuid().ToString("N"),
                ["Api:Jwt:Authority"] = provider.Authority,
                ["Api:Jwt:Audience"] = Audience,
                ["Api:Jwt:RequireHttpsMetadata"] = "false",
            }, clock: fixture.Clock);
        var subject = "cashier-" + Guid.NewGuid().ToString("N")[..8];
        var unknownCustomer = "c" + new string('0', 22);

        using var pos = Bearer(node, provider.Token(subject, "pos"));
        using var admin = Bearer(node, provider.Token("dpo-1", "admin"));
        Assert.Equal(HttpStatusCode.NotFound, (await pos.GetAsync("/v1/customers/lookup?member_id=JWT-NOBODY")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await pos.GetAsync("/v1/cluster")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await pos.DeleteAsync($"/v1/customers/{unknownCustomer}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/v1/cluster")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/v1/customers/{unknownCustomer}")).StatusCode);

        // Tokens the provider did not issue for this API now: each a 401 with a Bearer challenge.
        var other = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "k1" };
        foreach (var (what, token) in new[]
        {
            ("expired", provider.Token(subject, "pos", expires: DateTime.UtcNow.AddMinutes(-10))),
            ("another audience", provider.Token(subject, "pos", audience: "another-api")),
            ("signed by another key", provider.Token(subject, "admin", signWith: other)),
            ("not a token", "not-a-jwt"),
        })
        {
            using var client = Bearer(node, token);
            using var response = await client.GetAsync("/v1/customers/lookup?member_id=JWT-NOBODY");
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what}: {(int)response.StatusCode}");
            Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString());
        }

        // The audit names the token's subject and role.
        var engine = ChDbEngine.Current!;
        async Task<List<JsonObject>> Rows() => (await engine.QueryAsync(
                $"SELECT action, outcome, principal, auth_method, role, method FROM siyu.audit_log WHERE at >= fromUnixTimestamp64Milli({since.ToUnixTimeMilliseconds()}) FORMAT JSONEachRow"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        var rows = await NodeFixture.Eventually(Rows, r => r.Count(x => (string)x["principal"]! == subject) >= 2 && r.Any(x => (string)x["action"]! == "erase")
            && r.Count(x => (string)x["outcome"]! == "unauthenticated") >= 4);
        Assert.Contains(rows, r => (string)r["outcome"]! == "forbidden" && (string)r["principal"]! == subject && (string)r["auth_method"]! == "jwt"
            && (string)r["role"]! == "pos" && (string)r["method"]! == "DELETE");
        Assert.Contains(rows, r => (string)r["action"]! == "erase" && (string)r["outcome"]! == "not_found" && (string)r["principal"]! == "dpo-1" && (string)r["role"]! == "admin");
        Assert.Equal(4, rows.Count(r => (string)r["outcome"]! == "unauthenticated"));
    }

    [Fact]
    public async Task A_node_told_to_run_open_answers_without_a_credential()
    {
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 1 });
        foreach (var t in new Topics().All)
        {
            broker.CreateTopic(t);
        }
        await using var node = await TestNode.StartAsync(broker.BootstrapServers, Directory.CreateTempSubdirectory("siyu-open-").FullName, fixture.ChDbPath,
            new Dictionary<string, string?>
            {
                ["Kafka:GroupId"] = "open-" + Guid.NewGuid().ToString("N"),
                ["Api:AllowAnonymous"] = "true",
            }, clock: fixture.Clock);
        using var anyone = node.Client(null);
        Assert.Equal(HttpStatusCode.NotFound, (await anyone.GetAsync("/v1/customers/lookup?member_id=OPEN-NOBODY")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anyone.GetAsync("/v1/cluster")).StatusCode);

        // And `siyu run` accepts the setting in place of a key (it gets past the settings check).
        var settings = Siyu.Host.Configuration.SettingsLoader.Load(Siyu.Host.Configuration.SettingsLoader.Build(null, new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = "kafka:9092", ["Privacy:PhoneHashKey"] = "a-secret-of-at-least-16-bytes", ["Api:AllowAnonymous"] = "true",
        }), embedded: false);
        Assert.Empty(settings.Api.Keys);
    }
}
