using Confluent.Kafka;
using Microsoft.Extensions.Logging.Console;
using Prometheus;
using Siyu.Contracts.Privacy;
using Siyu.Contracts.Validation;
using Siyu.Host.Configuration;
using Siyu.Ingest;
using Siyu.Ingest.Handlers;

namespace Siyu.Host.Node;

/// <summary>
/// One Siyu process: ingest, the event handler, the HTTP endpoints. `siyu run` builds it against
/// real services; `siyu demo` builds the same thing against the embedded stack.
/// </summary>
public static class SiyuNode
{
    public sealed record Options(string BootstrapServers, bool JsonLogs = true, LogLevel MinimumLogLevel = LogLevel.Information);

    public static WebApplication Build(SiyuSettings settings, IConfiguration configuration, Options options)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);
        builder.WebHost.UseUrls(settings.Api.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(options.MinimumLogLevel);
        if (options.JsonLogs)
        {
            builder.Logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ");
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => o.ColorBehavior = LoggerColorBehavior.Enabled);
        }
        // Enough for ingest to drain its in-flight events and commit on SIGTERM.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(45));

        var s = builder.Services;
        s.AddSingleton(settings);
        s.AddSingleton(new PhoneHasher(settings.Privacy.EffectiveKey));
        s.AddSingleton(new EventParser(new EventParserOptions
        {
            MaxPayloadBytes = settings.Ingest.MaxPayloadBytes,
            MaxFutureSkew = TimeSpan.FromHours(settings.Ingest.MaxFutureSkewHours),
        }));
        s.AddSingleton(KafkaClients.IngestOptions(settings.Kafka, options.BootstrapServers));
        s.AddSingleton<IProducer<byte[]?, byte[]>>(_ => KafkaClients.Producer(settings.Kafka, options.BootstrapServers));
        // Until the customer actors exist, valid events are recorded in memory (demo and tests).
        s.AddSingleton<RecordingEventHandler>();
        s.AddSingleton<IEventHandler>(sp => sp.GetRequiredService<RecordingEventHandler>());
        s.AddSingleton<IngestPipeline>();
        s.AddSingleton<IngestService>();
        s.AddHostedService(sp => sp.GetRequiredService<IngestService>());
        s.AddHealthChecks().AddCheck<IngestService>("ingest");

        var app = builder.Build();
        app.MapHealthChecks("/health");
        app.MapMetrics("/metrics");
        return app;
    }
}
