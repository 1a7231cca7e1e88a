using Siyu.Host.Configuration;
using Siyu.Sinks;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Schema;

namespace Siyu.Host.Node;

/// <summary>
/// Opens ClickHouse (embedded chDB or a server), applies the schema and runs the sinks. It is
/// registered before the actors, so on shutdown it stops after them: their last saves still
/// reach ClickHouse, and then every buffered row is inserted in order.
/// </summary>
public sealed class SinkService(SiyuSettings settings, ILoggerFactory loggers) : IHostedService
{
    private readonly TaskCompletionSource<SiyuSinks> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<SiyuSinks> Ready => _ready.Task;

    /// <summary>Embedded only: written after every row reached chDB on a clean stop (see <see cref="ViewRebuilder"/>).</summary>
    private string? CleanStopMarker => settings.ClickHouse.Engine == "embedded"
        ? Path.Combine(settings.ClickHouse.DataPath, "siyu-clean-stop")
        : null;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var engine = ClickHouseEngineFactory.Create(new ClickHouseEngineOptions
            {
                Engine = settings.ClickHouse.Engine,
                ConnectionString = settings.ClickHouse.ConnectionString,
                DataPath = settings.ClickHouse.DataPath,
            });
            var sinks = await SiyuSinks.StartAsync(engine, new SiyuSinksOptions(), loggers, cancellationToken);
            if (CleanStopMarker is { } marker)
            {
                // The marker exists only between a clean stop and the next start: without it the
                // last run died (kill -9, OOM, power), and views may miss its last insert.
                if (!File.Exists(marker))
                {
                    await ViewRebuilder.RebuildAsync(engine, SchemaMigrator.DefaultDatabase,
                        loggers.CreateLogger<SinkService>(), cancellationToken);
                }
                File.Delete(marker);
            }
            _ready.SetResult(sinks);
        }
        catch (Exception e)
        {
            _ready.TrySetException(e);
            throw;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_ready.Task.IsCompletedSuccessfully)
        {
            await (await _ready.Task).StopAsync(cancellationToken);
            if (CleanStopMarker is { } marker && !cancellationToken.IsCancellationRequested)
            {
                await File.WriteAllTextAsync(marker, DateTimeOffset.UtcNow.ToString("O"), CancellationToken.None);
            }
        }
    }
}
