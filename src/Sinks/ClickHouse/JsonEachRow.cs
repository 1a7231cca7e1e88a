using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Siyu.Sinks.ClickHouse;

/// <summary>JSONEachRow in and out: building batched INSERTs and reading query results.</summary>
public static partial class JsonEachRow
{
    public const string Format = "JSONEachRow";

    /// <summary>
    /// snake_case names (a <c>StoreId</c> property is column <c>store_id</c>), numbers accepted
    /// from strings (ClickHouse may quote 64-bit integers), and timestamps read in ClickHouse's
    /// <c>yyyy-MM-dd HH:mm:ss[.fff]</c> output form (taken as UTC) as well as ISO 8601.
    /// </summary>
    public static JsonSerializerOptions DefaultOptions { get; } = CreateDefaultOptions();

    /// <summary>
    /// The UTF-8 text of <c>INSERT INTO table SETTINGS date_time_input_format='best_effort' FORMAT JSONEachRow</c>
    /// followed by one JSON object per line (NUL-terminated when <paramref name="nulTerminate"/>).
    /// </summary>
    public static byte[] BuildInsert<T>(string table, IEnumerable<T> rows, JsonSerializerOptions? jsonOptions,
        bool nulTerminate, out int rowCount)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        rowCount = WriteInsert(buffer, table, rows, jsonOptions, nulTerminate);
        return rowCount == 0 ? [] : buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// <see cref="BuildInsert"/> into <paramref name="buffer"/> (appended): an engine that keeps one
    /// buffer for all its inserts allocates nothing per insert once the buffer has grown. Returns the row count.
    /// </summary>
    public static int WriteInsert<T>(IBufferWriter<byte> buffer, string table, IEnumerable<T> rows, JsonSerializerOptions? jsonOptions,
        bool nulTerminate)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var header = "INSERT INTO " + ClickHouseSql.QuoteTableName(table)
            + " SETTINGS date_time_input_format='best_effort' FORMAT JSONEachRow\n";
        var options = jsonOptions ?? DefaultOptions;
        Encoding.UTF8.GetBytes(header, buffer);
        var rowCount = 0;
        using (var writer = new Utf8JsonWriter(buffer))
        {
            foreach (var row in rows)
            {
                if (row is null)
                {
                    throw new ArgumentException($"Row {rowCount} is null.", nameof(rows));
                }

                writer.Reset(buffer);
                JsonSerializer.Serialize(writer, row, options);
                writer.Flush();
                buffer.Write("\n"u8);
                rowCount++;
            }
        }

        if (nulTerminate)
        {
            buffer.Write("\0"u8);
        }

        return rowCount;
    }

    /// <summary>Deserializes each non-empty line of JSONEachRow text into <typeparamref name="T"/>.</summary>
    public static IReadOnlyList<T> Parse<T>(string text, JsonSerializerOptions? jsonOptions = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var options = jsonOptions ?? DefaultOptions;
        var rows = new List<T>();
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (line.IsWhiteSpace())
            {
                continue;
            }

            rows.Add(JsonSerializer.Deserialize<T>(line, options)
                ?? throw new JsonException("JSONEachRow line deserialized to null."));
        }

        return rows;
    }

    private static JsonSerializerOptions CreateDefaultOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = JsonNumberHandling.AllowReadingFromString,
        };
        options.Converters.Add(new ClickHouseDateTimeConverter());
        options.Converters.Add(new ClickHouseDateTimeOffsetConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    // ClickHouse's default output is "2024-01-02 03:04:05.678" in the column's time zone (UTC in
    // Siyu), with no offset; ISO 8601 (date_time_output_format='iso', or inserted text) also reads.
    // Either way the result is UTC.
    internal static DateTimeOffset ParseTimestamp(string text) =>
        ClickHouseDateTimeRegex().IsMatch(text)
            ? new DateTimeOffset(DateTime.ParseExact(text, ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-dd"],
                CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal))
            : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).ToUniversalTime();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2}(\.\d{1,9})?)?$")]
    private static partial Regex ClickHouseDateTimeRegex();

    private sealed class ClickHouseDateTimeConverter : JsonConverter<DateTime>
    {
        public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            ParseTimestamp(reader.GetString() ?? throw new JsonException("Expected a timestamp string.")).UtcDateTime;

        public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value);
    }

    private sealed class ClickHouseDateTimeOffsetConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
            => ParseTimestamp(reader.GetString() ?? throw new JsonException("Expected a timestamp string."));

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value);
    }
}
