using Akka.Hosting;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Console;
using Prometheus;
using Siyu.Actors.Campaigns;
using Siyu.Actors.Customers;
using Siyu.Actors.Hosting;
using Siyu.Actors.Identity;
using Siyu.Actors.Ingestion;
using Siyu.Actors.Lookups;
using Akka.Actor;
using Siyu.Actors.Operations;
using Siyu.Actors.Publishing;
using Siyu.Contracts;
using Siyu.Contracts.Privacy;
using Siyu.Contracts.Validation;
using Siyu.Host.Api;
using Siyu.Host.Api.Security;
using Siyu.Host.Configuration;
using Siyu.Ingest;
using Siyu.Ingest.Handlers;
using Siyu.Kafka;

namespace Siyu.Host.Node;

/// <summary>
/// One Siyu process: ingest, the customer entities (Akka cluster + sharding + journal), profile
/// publishing and the HTTP API. `siyu run` builds it against real services; `siyu demo` builds
/// the same thing against the embedded stack.
/// </summary>
public static class SiyuNode
{
    /// <param name="AkkaHocon">Benchmarks' what-if runs only: HOCON placed over the product's Akka settings.</param>
    /// <param name="WrapClickHouse">Tests only: wraps the ClickHouse engine the node opens (fault injection); no setting reaches it.</param>
    /// <param name="Clock">Tests only: the node's clock (customers, timers, the API's "now", occurred_at's future bound); the real clock otherwise.</param>
    public sealed record Options(string BootstrapServers, bool JsonLogs = true, LogLevel MinimumLogLevel = LogLevel.Information, string? AkkaHocon = null,
        Func<Siyu.Sinks.ClickHouse.IClickHouse, Siyu.Sinks.ClickHouse.IClickHouse>? WrapClickHouse = null, TimeProvider? Clock = null);

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
            // UTC in ISO 8601: the formatter writes the clock it is given with this pattern, so
            // without UseUtcTimestamp a 'Z' would follow local time.
            builder.Logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o => o.ColorBehavior = LoggerColorBehavior.Enabled);
        }
        // A /health probe is a question, and the 503 with each check's reason is its answer: the
        // health-check service would also log an Error per unhealthy check per probe (hundreds
        // while a node starts under an orchestrator's probe). Whatever is really wrong is logged
        // once per outage by its owner (KafkaHealth, the ClickHouse sink, the customer store).
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService", LogLevel.None);
        // Enough for ingest to drain its in-flight events and commit on SIGTERM.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(45));

        var s = builder.Services;
        var topics = new Topics(settings.Kafka.TopicPrefix);
        var rules = settings.Rules(); // validated at start-up
        var askTimeout = TimeSpan.FromSeconds(30);
        var clock = options.Clock ?? TimeProvider.System;
        s.AddSingleton(settings);
        s.AddSingleton(clock); // the API's "now" (prompts), the same clock as the customers'
        s.AddSingleton(topics);
        s.AddSingleton(rules);
        s.AddSingleton(new PhoneHasher(settings.Privacy.EffectiveKey));
        // One set of id rules for ingest and the lookup API: a placeholder links no one either way.
        var idValues = settings.Identity.ToIdValues();
        s.AddSingleton(idValues);
        s.AddSingleton(new EventParser(new EventParserOptions
        {
            MaxPayloadBytes = settings.Ingest.MaxPayloadBytes,
            MaxFutureSkew = TimeSpan.FromHours(settings.Ingest.MaxFutureSkewHours),
            IdValues = idValues,
        }, clock)); // "too far ahead" is judged on the customers' clock too
        // Every Kafka client logs through the logger and reports broker outages to one place (/health).
        s.AddSingleton(sp => new KafkaHealth(options.BootstrapServers, sp.GetRequiredService<ILogger<KafkaHealth>>()));
        s.AddSingleton(sp => KafkaClients.IngestOptions(settings.Kafka, options.BootstrapServers, sp.GetRequiredService<KafkaHealth>()));
        s.AddSingleton<IProducer<byte[]?, byte[]>>(sp => KafkaClients.Producer(settings.Kafka, options.BootstrapServers, sp.GetRequiredService<KafkaHealth>()));
        // Profiles go to the compacted topic and to ClickHouse (the private-domain dashboard).
        s.AddSingleton<KafkaProfilePublisher>();
        s.AddSingleton<ClickHouseProfileWriter>();
        s.AddSingleton<IProfilePublisher>(sp => new ProfilePublishers(
            sp.GetRequiredService<KafkaProfilePublisher>(), sp.GetRequiredService<ClickHouseProfileWriter>()));

        // ClickHouse first, then the store, then the actors: hosted services stop in reverse
        // order, so the actors' last saves are committed and their rows inserted before the sinks stop.
        s.AddSingleton(sp => new SinkService(settings, sp.GetRequiredService<ILoggerFactory>(), options.WrapClickHouse));
        s.AddHostedService(sp => sp.GetRequiredService<SinkService>());
        s.AddHostedService(sp => sp.GetRequiredService<ClickHouseProfileWriter>()); // stops after the actors, before the sinks
        s.AddSingleton<ISalesWriter, ClickHouseSalesWriter>();
        s.AddSingleton<StoreService>();
        s.AddHostedService(sp => sp.GetRequiredService<StoreService>());
        s.AddSingleton<IOperationsPublisher, OperationsPublisher>();
        s.AddSingleton(sp => new CampaignFeed(options.BootstrapServers, topics.Campaigns, settings.Kafka.Client,
            sp.GetRequiredService<ILogger<CampaignFeed>>(), sp.GetRequiredService<KafkaHealth>()));
        s.AddHostedService<CampaignFeedService>();

        // Customers: customer shards with a light actor per resident customer, and the identity
        // index shards, sharded over the cluster; lookups read what is resident on this node.
        var residentProfiles = new ResidentProfiles();
        var residentIndex = new ResidentIndex();
        s.AddSingleton(residentProfiles);
        s.AddSingleton(residentIndex);
        s.AddSingleton(sp => new CustomerLookup(residentIndex, residentProfiles, () => sp.GetRequiredService<StoreService>().Store, settings.Customers.MaxShards));
        s.AddAkka(SiyuAkkaConfiguration.SystemName, (akka, sp) => akka
            .WithSiyuCluster(new ClusterNodeOptions(settings.Cluster.Hostname, settings.Cluster.Port, settings.Cluster.SeedNodes, settings.Cluster.DownUnreachableAfterSeconds))
            .WithCustomerSharding(new CustomerEntityOptions
            {
                Rules = rules,
                AskTimeout = askTimeout,
                Clock = clock,
                MaxShards = settings.Customers.MaxShards,
                PassivateIdleAfter = TimeSpan.FromSeconds(settings.Customers.PassivateIdleSeconds),
                Committer = () => sp.GetRequiredService<StoreService>().Committer,
                Publisher = sp.GetRequiredService<IProfilePublisher>(),
                Campaigns = () => sp.GetRequiredService<CampaignFeed>().Current,
                Operations = sp.GetRequiredService<IOperationsPublisher>(),
                Resident = residentProfiles,
                ResidentIndex = residentIndex,
            })
            // Last and prepended, so it wins over everything above.
            .AddHocon(options.AkkaHocon ?? "", HoconAddMode.Prepend));
        s.AddSingleton(sp =>
        {
            var registry = sp.GetRequiredService<ActorRegistry>();
            return new IdentityResolver(registry.Get<IdentityRegion>(), registry.Get<CustomerRegion>(), rules, settings.Customers.MaxShards, askTimeout, clock);
        });
        // Ingest hands valid events to the customers; the tally only counts what they accepted.
        s.AddSingleton(sp => new TallyingEventHandler(new CustomerEventHandler(
            sp.GetRequiredService<IdentityResolver>(),
            sp.GetRequiredService<ActorRegistry>().Get<CustomerRegion>(),
            sp.GetRequiredService<ActorSystem>(),
            settings.Customers.MaxShards,
            askTimeout,
            TimeSpan.FromSeconds(settings.Customers.RefundGraceSeconds))));
        s.AddSingleton<IEventHandler>(sp => sp.GetRequiredService<TallyingEventHandler>());
        s.AddSingleton<IngestPipeline>();
        s.AddSingleton<IngestService>();
        s.AddHostedService(sp => sp.GetRequiredService<IngestService>());
        s.AddSiyuOpenApi();
        s.AddSiyuApiSecurity(settings.Api);
        s.AddHealthChecks()
            .AddCheck<ClusterHealthCheck>("cluster")
            .AddCheck<IngestService>("ingest")
            .AddCheck<StoreService>("journal")
            .AddCheck<SinkService>("clickhouse");

        var app = builder.Build();
        app.UseSiyuApiSecurity();
        ApiSecurity.Open(app.MapHealthChecks("/health", HealthResponse.Options), app.MapMetrics("/metrics"), settings.Api);
        app.MapOpenApi(ApiDocument.Path);
        app.MapCustomerApi();
        app.MapCampaignApi();
        app.MapSalesApi();
        app.MapClusterApi();
        return app;
    }
}
