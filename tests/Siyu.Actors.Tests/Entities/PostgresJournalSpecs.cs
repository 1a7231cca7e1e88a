using Akka.Actor;
using Npgsql;
using Siyu.Ingest;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Hosting;
using Siyu.Actors.Identity;
using Siyu.Contracts.Events;
using Siyu.Tests.Shared;

namespace Siyu.Actors.Tests.Entities;

/// <summary>The production journal: the same persistence behaviour against a real PostgreSQL server.</summary>
public sealed class PostgresJournalSpecs : IClassFixture<PostgresJournalSpecs.Server>, IAsyncLifetime
{
    public sealed class Server : IDisposable
    {
        public PostgresServer Postgres { get; } = new();
        public void Dispose() => Postgres.Dispose();
    }

    private readonly Server _server;
    private readonly ActorSystemFixture _akka;

    public PostgresJournalSpecs(Server server)
    {
        _server = server;
        _akka = new ActorSystemFixture(journal: new JournalOptions("postgresql", server.Postgres.ConnectionString));
    }

    public async Task InitializeAsync() => await _akka.StartAsync();
    public async Task DisposeAsync() => await _akka.DisposeAsync();

    private Task<CustomerState> CustomerOf(IdType type, string value) => _akka.CustomerOf(type, value);

    [Fact]
    public async Task Customers_and_their_ids_survive_a_restart_on_postgresql_with_one_state_row_each()
    {
        var handler = _akka.Handler();
        var ids = new CustomerIds { MemberId = "PG-M1", OpenId = "pg-o1" };
        for (var i = 0; i < 6; i++)
        {
            await handler.HandleAsync(Events.Ingested(Events.Order($"pg{i}", ids, 2m, minute: i)), default);
        }
        var before = await CustomerOf(IdType.OpenId, "pg-o1");

        await _akka.RestartAsync();

        var after = await CustomerOf(IdType.MemberId, "PG-M1");
        Assert.Equal(before.CustomerId, after.CustomerId);
        Assert.Equal(6, after.Stats.Orders);
        Assert.Equal(12m, after.Stats.Revenue);

        await using var db = new NpgsqlConnection(_server.Postgres.ConnectionString);
        await db.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT COUNT(*) FROM siyu_customers WHERE customer_id = @p", db);
        count.Parameters.AddWithValue("p", after.CustomerId);
        Assert.Equal(1L, (long)(await count.ExecuteScalarAsync())!);
    }
}
