using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using Siyu.Host.Configuration;
using Siyu.Host.Node;
using Siyu.Simulator;

namespace Siyu.Host.Commands;

/// <summary>
/// `siyu simulate`: seeded private-domain traffic (src/Simulator) to Kafka or to one JSON Lines
/// file per topic. The same options always give the same bytes; --rate only sets the pace.
/// </summary>
public static class SimulateCommand
{
    public static Command Create()
    {
        var config = CommandSupport.ConfigOption();
        var defaults = new SimulationOptions();
        var seed = new Option<int>("--seed") { Description = "Seed: the same seed and options give byte-identical output", DefaultValueFactory = _ => defaults.Seed };
        var stores = new Option<int>("--stores") { Description = "Stores (each with 3-4 WeCom groups and 2-4 guides)", DefaultValueFactory = _ => defaults.Stores };
        var customers = new Option<int>("--customers") { Description = "Customers per store", DefaultValueFactory = _ => defaults.CustomersPerStore };
        var days = new Option<int>("--days") { Description = "Simulated days (0 = endless)", DefaultValueFactory = _ => defaults.Days };
        var start = new Option<string>("--start")
        {
            Description = "First simulated day, yyyy-MM-dd, China time (the default Monday puts the Tuesday coupon day second)",
            DefaultValueFactory = _ => defaults.Start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        };
        var rate = new Option<double?>("--rate") { Description = "Messages per second (default: 1000 to Kafka, unpaced to files; 0 = unpaced)" };
        var bootstrap = new Option<string?>("--bootstrap", "-b") { Description = "host:port of a broker (default: Kafka:BootstrapServers)" };
        var output = new Option<DirectoryInfo?>("--out", "-o") { Description = "Write one JSON Lines file per topic into this directory instead of Kafka" };
        var command = new Command("simulate", "Generate realistic private-domain traffic (stores, groups, guides, customers, campaigns) to Kafka or JSON Lines files")
        {
            seed, stores, customers, days, start, rate, bootstrap, output, config,
        };
        command.SetAction((parse, ct) => CommandSupport.Guard(async () =>
        {
            if (!DateOnly.TryParseExact(parse.GetValue(start), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var first))
            {
                throw new SettingsException([$"--start must be a date as yyyy-MM-dd (got '{parse.GetValue(start)}')"]);
            }
            var options = new SimulationOptions
            {
                Seed = parse.GetValue(seed),
                Stores = parse.GetValue(stores),
                CustomersPerStore = parse.GetValue(customers),
                Days = parse.GetValue(days),
                Start = first,
            };
            var overrides = new Dictionary<string, string?>();
            if (parse.GetValue(bootstrap) is { } b)
            {
                overrides["Kafka:BootstrapServers"] = b;
            }
            var dir = parse.GetValue(output);
            // Files need no broker; Kafka needs one, and the loader says so naming the setting.
            var settings = SettingsLoader.Load(SettingsLoader.Build(parse.GetValue(config)?.FullName, overrides), embedded: dir is not null, processesEvents: false);
            options = options with { TopicPrefix = settings.Kafka.TopicPrefix };
            if (options.Problems() is { Count: > 0 } problems)
            {
                throw new SettingsException(problems);
            }
            var perSecond = parse.GetValue(rate) ?? (dir is null ? 1000 : 0);
            if (perSecond < 0 || double.IsNaN(perSecond))
            {
                throw new SettingsException([$"--rate must be 0 (unpaced) or more (got {perSecond})"]);
            }
            return dir is null
                ? await ToKafka(settings.Kafka, options, perSecond, ct)
                : await ToFiles(dir, options, perSecond, ct);
        }));
        return command;
    }

    private static async Task<int> ToFiles(DirectoryInfo dir, SimulationOptions options, double perSecond, CancellationToken ct)
    {
        dir.Create();
        var files = new Dictionary<string, Stream>();
        var tally = new Tally(options);
        try
        {
            await foreach (var m in TrafficSimulator.Generate(options).PacedAsync(perSecond, ct).WithCancellation(ct))
            {
                if (!files.TryGetValue(m.Topic, out var file))
                {
                    files[m.Topic] = file = new BufferedStream(File.Create(Path.Combine(dir.FullName, m.Topic + ".jsonl")), 1 << 16);
                }
                file.Write(m.Value);
                file.WriteByte((byte)'\n');
                tally.Add(m);
            }
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("stopped by Ctrl+C");
        }
        finally
        {
            foreach (var f in files.Values)
            {
                await f.DisposeAsync();
            }
        }
        tally.Print($"wrote {dir.FullName}/<topic>.jsonl (keys are not kept; `siyu produce` keys each line by its first id)");
        return 0;
    }

    private static async Task<int> ToKafka(KafkaSettings kafka, SimulationOptions options, double perSecond, CancellationToken ct)
    {
        using var producer = KafkaClients.Producer(kafka, kafka.BootstrapServers);
        var tally = new Tally(options);
        long failed = 0;
        string? lastError = null;
        void Report(DeliveryReport<byte[]?, byte[]> r)
        {
            if (r.Error.IsError)
            {
                Interlocked.Increment(ref failed);
                lastError = r.Error.Reason;
            }
        }
        try
        {
            await foreach (var m in TrafficSimulator.Generate(options).PacedAsync(perSecond, ct).WithCancellation(ct))
            {
                while (true)
                {
                    try
                    {
                        producer.Produce(m.Topic, new Message<byte[]?, byte[]> { Key = m.Key, Value = m.Value }, Report);
                        break;
                    }
                    catch (ProduceException<byte[]?, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                    {
                        // Unpaced runs outpace the broker: wait for deliveries instead of failing.
                        producer.Poll(TimeSpan.FromMilliseconds(100));
                    }
                }
                tally.Add(m);
            }
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine("stopped by Ctrl+C");
        }
        producer.Flush(TimeSpan.FromSeconds(30));
        tally.Print($"sent to {kafka.BootstrapServers}" + (failed > 0 ? $"; {failed} deliveries FAILED ({lastError})" : ""));
        return failed > 0 ? 1 : 0;
    }

    /// <summary>Counts what was written and shows progress on the simulated clock.</summary>
    private sealed class Tally(SimulationOptions options)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly Dictionary<string, long> _byTopic = [];
        private readonly Dictionary<string, long> _byKind = [];
        private DateTimeOffset _first;
        private DateTimeOffset _last;
        private long _count;
        private TimeSpan _nextProgress = TimeSpan.FromSeconds(5);

        public void Add(SimulatedMessage m)
        {
            _first = _count++ == 0 ? m.At : _first;
            _last = m.At;
            _byTopic[m.Topic] = _byTopic.GetValueOrDefault(m.Topic) + 1;
            var kind = m.Kind == MessageKind.Invalid ? $"invalid ({m.ExpectedReason})" : m.Late ? "event (late)" : m.Kind.ToString().ToLowerInvariant();
            _byKind[kind] = _byKind.GetValueOrDefault(kind) + 1;
            if (_clock.Elapsed >= _nextProgress)
            {
                _nextProgress += TimeSpan.FromSeconds(5);
                Console.WriteLine($"  simulated {m.At:yyyy-MM-dd HH:mm} ({TrafficSimulator.PhaseOf(m.At.TimeOfDay)}): {_count:N0} messages, {_count / _clock.Elapsed.TotalSeconds:N0}/s");
            }
        }

        public void Print(string where)
        {
            Console.WriteLine($"{_count:N0} messages in {_clock.Elapsed.TotalSeconds:N1} s, simulated {_first:yyyy-MM-dd HH:mm} to {_last:yyyy-MM-dd HH:mm zzz}; {where}");
            Console.WriteLine($"  seed {options.Seed}, {options.Stores} stores x {options.CustomersPerStore} customers, {(options.Days == 0 ? "endless" : options.Days + " days")} from {options.Start:yyyy-MM-dd}");
            foreach (var (topic, n) in _byTopic.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                Console.WriteLine($"  {topic,-22} {n,10:N0}");
            }
            foreach (var (kind, n) in _byKind.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal))
            {
                Console.WriteLine($"  {kind,-40} {n,10:N0}");
            }
        }
    }
}
