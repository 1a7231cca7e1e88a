using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Embedded;
using Siyu.Sinks.ClickHouse.Server;
using Siyu.Sinks.Tests.ClickHouse;

namespace Siyu.Sinks.Tests.Sink;

/// <summary>
/// No ClickHouse server runs on the development machines, so the server engine is only checked
/// for being built from configuration and for failing (not hanging) when the server is absent.
/// </summary>
[Collection(ChDbCollection.Name)]
public sealed class ServerEngineTests(ChDbFixture fixture)
{
    [Fact]
    public void The_configuration_chooses_the_engine()
    {
        Assert.Same(fixture.Engine, ClickHouseEngineFactory.Create(new ClickHouseEngineOptions { Engine = "embedded", DataPath = fixture.Engine.DataPath }));

        using var server = Assert.IsType<ClickHouseServerEngine>(ClickHouseEngineFactory.Create(new ClickHouseEngineOptions
        {
            Engine = "server",
            ConnectionString = "Host=127.0.0.1;Port=1;Database=siyu;Username=siyu;Password=x",
        }));

        Assert.Throws<ArgumentException>(() => ClickHouseEngineFactory.Create(new ClickHouseEngineOptions { Engine = "server" }));
        Assert.Throws<ArgumentException>(() => ClickHouseEngineFactory.Create(new ClickHouseEngineOptions { Engine = "duckdb" }));
    }

    [Fact]
    public async Task An_unreachable_server_is_an_error_the_sink_can_retry()
    {
        using var server = new ClickHouseServerEngine("Host=127.0.0.1;Port=1;Database=siyu;Username=siyu;Password=x");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        // A refused connection, not a ClickHouseException: transient for the sink's retries.
        await Assert.ThrowsAsync<HttpRequestException>(() => server.QueryAsync("SELECT 1", cancellationToken: timeout.Token));
        await Assert.ThrowsAsync<HttpRequestException>(() => server.InsertJsonEachRowAsync("siyu.t", [new { a = 1 }], cancellationToken: timeout.Token));
        Assert.False(timeout.IsCancellationRequested);
        _ = ChDbEngine.Current; // the embedded engine is untouched
    }
}
