using Siyu.Host.Configuration;
using Siyu.Sinks;
using Siyu.Sinks.ClickHouse;

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
            _ready.SetResult(await SiyuSinks.StartAsync(engine, new SiyuSinksOptions(), loggers, cancellationToken));
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
        }
    }
}
