using System.Collections;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting.Logging;
using Microsoft.Extensions.Logging;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Siyu.Actors.Hosting;

/// <summary>
/// Akka's log events as structured Microsoft.Extensions.Logging entries: the message without
/// Akka's "[INFO][time][Thread]" prefix, the category of the class that logged, and a state
/// that log tools can read (the template as {OriginalFormat}, its properties, LogSource,
/// ActorPath). Akka.Hosting's own logger passes a state the JSON console formatter cannot
/// enumerate, so every Akka line arrived pre-formatted with an empty State.
/// </summary>
public sealed class StructuredAkkaLogger : LoggerFactoryLogger
{
    private readonly ILoggerFactory _factory;
    private readonly Dictionary<Type, ILogger> _loggers = [];

    public StructuredAkkaLogger()
    {
        _factory = Context.System.Settings.Setup.Get<LoggerFactorySetup>().Value.LoggerFactory;
    }

    protected override void Log(LogEvent log, ActorPath path)
    {
        if (!_loggers.TryGetValue(log.LogClass, out var logger))
        {
            logger = _factory.CreateLogger(AkkaLogEntry.Category(log));
            _loggers[log.LogClass] = logger;
        }
        var level = log.LogLevel() switch
        {
            Akka.Event.LogLevel.DebugLevel => LogLevel.Debug,
            Akka.Event.LogLevel.InfoLevel => LogLevel.Information,
            Akka.Event.LogLevel.WarningLevel => LogLevel.Warning,
            _ => LogLevel.Error,
        };
        if (!logger.IsEnabled(level))
        {
            return;
        }
        // The sender is the logging actor only when it logged through its context.
        var state = AkkaLogEntry.From(log, path.Name == "deadLetters" ? null : path.ToString());
        logger.Log(level, default, state, log.Cause, static (s, _) => s.Message);
    }
}

/// <summary>One Akka log event as a template, its properties and the formatted message.</summary>
public sealed class AkkaLogEntry : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly List<KeyValuePair<string, object?>> _items;

    private AkkaLogEntry(string message, List<KeyValuePair<string, object?>> items)
    {
        Message = message;
        _items = items;
    }

    public string Message { get; }

    /// <summary>The class that logged; Akka's internals that log by a source string go under Akka.Actor.ActorSystem.</summary>
    public static string Category(LogEvent log) =>
        log.LogClass == typeof(DummyClassForStringSources) ? "Akka.Actor.ActorSystem" : log.LogClass.FullName ?? "Akka";

    public static AkkaLogEntry From(LogEvent log, string? actorPath)
    {
        var items = new List<KeyValuePair<string, object?>>();
        string template;
        string message;
        try
        {
            template = log.GetTemplate();
            message = (log.Message is LogMessage m ? m.ToString() : log.Message?.ToString()) ?? "";
            if (log.TryGetProperties(out var properties) && properties is not null)
            {
                foreach (var (name, value) in properties)
                {
                    items.Add(new(name, Simple(value)));
                }
            }
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            // A template that does not match its arguments still produces a line.
            template = log.Message?.ToString() ?? "";
            message = template;
        }
        items.Add(new("LogSource", log.LogSource));
        if (actorPath is not null)
        {
            items.Add(new("ActorPath", actorPath));
        }
        items.Add(new("{OriginalFormat}", template));
        return new AkkaLogEntry(message, items);
    }

    // Properties are written by the JSON formatter with ToString() unless they are primitives.
    private static object? Simple(object? value) => value switch
    {
        null or string or bool or int or long or double or float or decimal or short or byte or uint or ulong => value,
        TimeSpan or DateTime or DateTimeOffset or Guid => value,
        _ => value.ToString(),
    };

    public KeyValuePair<string, object?> this[int index] => _items[index];

    public int Count => _items.Count;

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => Message;
}

/// <summary>
/// What Akka prints itself before its loggers start and after they stop (the last lines of a
/// shutdown): one JSON object per line in the shape of the JSON console formatter, so a log
/// tool reads every line of the process. Named by <c>akka.stdout-logger-class</c>.
/// </summary>
public sealed class JsonStdoutLogger : MinimalLogger
{
    private static readonly Lock Gate = new();

    protected override void Log(object message)
    {
        if (message is not LogEvent log)
        {
            return;
        }
        var entry = AkkaLogEntry.From(log, null);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("Timestamp", log.Timestamp.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteNumber("EventId", 0);
            json.WriteString("LogLevel", log.LogLevel() switch
            {
                Akka.Event.LogLevel.DebugLevel => "Debug",
                Akka.Event.LogLevel.InfoLevel => "Information",
                Akka.Event.LogLevel.WarningLevel => "Warning",
                _ => "Error",
            });
            json.WriteString("Category", AkkaLogEntry.Category(log));
            json.WriteString("Message", entry.Message);
            if (log.Cause is { } cause)
            {
                json.WriteString("Exception", cause.ToString());
            }
            json.WriteStartObject("State");
            foreach (var (key, value) in entry)
            {
                json.WriteString(key, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        var line = Encoding.UTF8.GetString(buffer.ToArray());
        lock (Gate)
        {
            Console.Out.WriteLine(line);
        }
    }
}
