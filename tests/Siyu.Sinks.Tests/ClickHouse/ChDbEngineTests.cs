using System.Diagnostics;
using System.Globalization;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Embedded;
using Xunit.Abstractions;

namespace Siyu.Sinks.Tests.ClickHouse;

[Collection(ChDbCollection.Name)]
public sealed class ChDbEngineTests(ChDbFixture fixture, ITestOutputHelper output)
{
    private readonly ChDbEngine _engine = fixture.Engine;

    private static Dictionary<string, string> P(params (string Name, object? Value)[] values) =>
        values.ToDictionary(v => v.Name, v => ClickHouseParam.Of(v.Value));

    private sealed record Sale(string StoreId, DateTime Ts, decimal Amount, string[] Tags, string Note);

    private string CreateSales(string purpose)
    {
        var db = fixture.NewDatabase(purpose);
        _engine.Execute($"""
            CREATE TABLE `{db}`.sales (
                store_id String,
                ts DateTime64(3, 'UTC'),
                amount Decimal(18, 2),
                tags Array(String),
                note String
            ) ENGINE = MergeTree ORDER BY (store_id, ts)
            """);
        return db;
    }

    [Fact]
    public void Boots_once_and_reports_its_version()
    {
        output.WriteLine($"boot (load libchdb.so + chdb_connect): {_engine.BootTime.TotalMilliseconds:F0} ms, library {_engine.LibraryPath}");
        Assert.StartsWith("26.5.", _engine.Query("SELECT version()", format: "TabSeparated").Trim(), StringComparison.Ordinal);
        Assert.Same(_engine, ChDbEngine.Current);
    }

    [Fact]
    public void The_same_path_returns_the_running_engine_and_another_path_is_refused()
    {
        Assert.Same(_engine, ChDbEngine.Open(_engine.DataPath + "/"));

        var other = Path.Combine(Path.GetTempPath(), "siyu-chdb-other-" + Guid.NewGuid().ToString("N"));
        var ex = Assert.Throws<InvalidOperationException>(() => ChDbEngine.Open(other));
        Assert.Contains(_engine.DataPath, ex.Message, StringComparison.Ordinal);
        Assert.Contains(other, ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(other));
    }

    [Fact]
    public void Values_inserts_and_queries_bind_String_DateTime64_Decimal_and_Array_parameters()
    {
        var db = CreateSales("params");
        var t0 = new DateTime(2025, 3, 1, 10, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < 5; i++)
        {
            _engine.Execute(
                $"INSERT INTO `{db}`.sales VALUES ({{store:String}}, {{ts:DateTime64(3, 'UTC')}}, {{amount:Decimal(18, 2)}}, {{tags:Array(String)}}, {{note:String}})",
                P(("store", i % 2 == 0 ? "S1" : "S2"), ("ts", t0.AddMinutes(i).AddMilliseconds(250)),
                  ("amount", 10.25m * (i + 1)), ("tags", i == 3 ? new[] { "vip", "o'neil" } : ["plain"]), ("note", $"n{i}")));
        }

        var text = _engine.Query(
            $$"""
            SELECT count() AS n, sum(amount) AS total, max(ts) AS last
            FROM `{{db}}`.sales
            WHERE store_id = {store:String}
              AND ts >= {from:DateTime64(3, 'UTC')}
              AND amount >= {min:Decimal(18, 2)}
            """,
            P(("store", "S1"), ("from", t0.AddMinutes(1)), ("min", 20.5m)),
            "TabSeparated");
        // S1 rows are i = 0, 2, 4; from t0+1min leaves 2 and 4: 30.75 + 51.25.
        Assert.Equal("2\t82\t2025-03-01 10:04:00.250", text.Trim());

        var tagged = _engine.QueryRows<Sale>(
            $"SELECT * FROM `{db}`.sales WHERE hasAny(tags, {{want:Array(String)}}) ORDER BY ts",
            P(("want", new[] { "o'neil", "nobody" })));
        var row = Assert.Single(tagged);
        Assert.Equal(new DateTime(2025, 3, 1, 10, 3, 0, 250, DateTimeKind.Utc), row.Ts);
        Assert.Equal(DateTimeKind.Utc, row.Ts.Kind);
        Assert.Equal(41.00m, row.Amount);
        Assert.Equal(new[] { "vip", "o'neil" }, row.Tags);
    }

    [Fact]
    public void JsonEachRow_batch_insert_round_trips_typed_rows()
    {
        var db = CreateSales("json");
        var t0 = new DateTime(2025, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc);
        var rows = Enumerable.Range(0, 1000).Select(i => new Sale(
            "S" + (i % 7), t0.AddSeconds(i), 1234567890123456.78m - i, ["t" + (i % 3)], $"line \"{i}\"\n\ttab\\ ü")).ToList();

        Assert.Equal(1000, _engine.Insert($"{db}.sales", rows));
        Assert.Equal(0, _engine.Insert($"{db}.sales", Array.Empty<Sale>()));

        var back = _engine.QueryRows<Sale>($"SELECT * FROM `{db}`.sales ORDER BY ts");
        Assert.Equal(rows.Count, back.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(rows[i].StoreId, back[i].StoreId);
            Assert.Equal(rows[i].Ts, back[i].Ts);
            Assert.Equal(rows[i].Amount, back[i].Amount);
            Assert.Equal(rows[i].Tags, back[i].Tags);
            Assert.Equal(rows[i].Note, back[i].Note);
        }

        // An offset timestamp from DateTimeOffset is stored as the same instant in UTC.
        _engine.Insert($"{db}.sales", [new { store_id = "TZ", ts = new DateTimeOffset(2025, 6, 1, 8, 0, 0, TimeSpan.FromHours(8)), amount = 1m, tags = Array.Empty<string>(), note = "" }]);
        Assert.Equal("2025-06-01 00:00:00.000", _engine.Query($"SELECT ts FROM `{db}`.sales WHERE store_id = 'TZ'", format: "TabSeparated").Trim());
    }

    [Fact]
    public void Hostile_parameter_values_are_bound_as_values_not_sql()
    {
        var db = CreateSales("inject");
        string[] hostile =
        [
            $"x'); DROP TABLE `{db}`.sales; --",
            $"' OR 1=1 --",
            "}; SELECT 1; {",
            "{store:String}",
            "back\\slash \\N \\' \" quote",
            "tab\tnew\nline\rcr",
            "ünïcödé ✓ 售",
        ];

        foreach (var value in hostile)
        {
            Assert.Equal(value, _engine.QueryRows<Dictionary<string, string>>("SELECT {s:String} AS s", P(("s", value)))[0]["s"]);
            _engine.Execute(
                $"INSERT INTO `{db}`.sales (store_id, note) VALUES ({{store:String}}, {{note:String}})",
                P(("store", value), ("note", value)));
        }

        Assert.Equal(hostile.Length.ToString(CultureInfo.InvariantCulture),
            _engine.Query($"SELECT count() FROM `{db}`.sales", format: "TabSeparated").Trim());
        var matched = _engine.QueryRows<Dictionary<string, string>>(
            $"SELECT note FROM `{db}`.sales WHERE store_id = {{s:String}}", P(("s", "' OR 1=1 --")));
        Assert.Equal("' OR 1=1 --", Assert.Single(matched)["note"]);

        Assert.Throws<ArgumentException>(() => _engine.Insert($"{db}.sales; DROP TABLE x", Array.Empty<Sale>()));
    }

    [Fact]
    public void Engine_errors_surface_as_ClickHouseException_with_the_engine_message()
    {
        var db = fixture.NewDatabase("errors");

        var missing = Assert.Throws<ClickHouseException>(() => _engine.Query($"SELECT * FROM `{db}`.no_such_table"));
        output.WriteLine(missing.Message);
        Assert.Equal(60, missing.Code);
        Assert.Equal("UNKNOWN_TABLE", missing.ErrorName);
        Assert.Contains("no_such_table", missing.Message, StringComparison.Ordinal);

        var syntax = Assert.Throws<ClickHouseException>(() => _engine.Execute("SELEC 1"));
        Assert.Equal(62, syntax.Code);
        Assert.Equal("SYNTAX_ERROR", syntax.ErrorName);
        Assert.Contains("Syntax error", syntax.ServerMessage, StringComparison.Ordinal);

        var unbound = Assert.Throws<ClickHouseException>(() => _engine.Query("SELECT {x:UInt8}", P(("y", 1))));
        Assert.Equal("UNKNOWN_QUERY_PARAMETER", unbound.ErrorName);

        var badValue = Assert.Throws<ClickHouseException>(() => _engine.Query("SELECT {x:UInt8}", P(("x", "ten"))));
        Assert.Equal("BAD_QUERY_PARAMETER", badValue.ErrorName);

        var badJson = Assert.Throws<ClickHouseException>(() => _engine.Insert($"{db}.nope", [new { a = 1 }]));
        Assert.Equal("UNKNOWN_TABLE", badJson.ErrorName);

        // The connection is still healthy afterwards.
        Assert.Equal("1", _engine.Query("SELECT 1", format: "TabSeparated").Trim());
    }

    [Fact]
    public void ReplacingMergeTree_FINAL_keeps_the_latest_version()
    {
        var db = fixture.NewDatabase("replacing");
        _engine.Execute($"CREATE TABLE `{db}`.members (member_id String, tier String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY member_id");
        // Separate inserts make separate parts, so the duplicates are really there until merged.
        _engine.Insert($"{db}.members", [new { member_id = "m1", tier = "silver", version = 1 }, new { member_id = "m2", tier = "gold", version = 1 }]);
        _engine.Insert($"{db}.members", [new { member_id = "m1", tier = "platinum", version = 3 }]);
        _engine.Insert($"{db}.members", [new { member_id = "m1", tier = "gold", version = 2 }]);

        Assert.Equal("4", _engine.Query($"SELECT count() FROM `{db}`.members", format: "TabSeparated").Trim());
        Assert.Equal("m1\tplatinum\t3\nm2\tgold\t1",
            _engine.Query($"SELECT * FROM `{db}`.members FINAL ORDER BY member_id", format: "TabSeparated").Trim());
    }

    [Fact]
    public async Task Concurrent_callers_each_get_their_own_parameters()
    {
        var db = fixture.NewDatabase("concurrent");
        _engine.Execute($"CREATE TABLE `{db}`.t (k UInt32, v UInt32) ENGINE = MergeTree ORDER BY (k, v)");

        // Without the engine's serialization this mixes parameters between threads (measured).
        // Half the callers are async, half synchronous on their own threads. (Synchronous callers
        // parked on thread-pool threads would starve the async ones' continuations: 5x slower.)
        const string sql = "SELECT {k:UInt32} * 1000 + {j:UInt32} AS r, sum(number) AS s FROM numbers(10000)";
        string Expected(int k, int j) => $"{k * 1000 + j}\t49995000";
        var asyncCallers = Enumerable.Range(0, 4).Select(k => Task.Run(async () =>
        {
            for (var j = 0; j < 25; j++)
            {
                Assert.Equal(Expected(k, j), (await _engine.QueryAsync(sql, P(("k", k), ("j", j)), "TabSeparated")).Trim());
                await _engine.ExecuteAsync($"INSERT INTO `{db}`.t VALUES ({{k:UInt32}}, {{v:UInt32}})", P(("k", k), ("v", j)));
            }
        }));
        var syncCallers = Enumerable.Range(4, 4).Select(k => Task.Factory.StartNew(() =>
        {
            for (var j = 0; j < 25; j++)
            {
                Assert.Equal(Expected(k, j), _engine.Query(sql, P(("k", k), ("j", j)), "TabSeparated").Trim());
                _engine.Execute($"INSERT INTO `{db}`.t VALUES ({{k:UInt32}}, {{v:UInt32}})", P(("k", k), ("v", j)));
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        var workers = asyncCallers.Concat(syncCallers).ToArray();
        await Task.WhenAll(workers);

        Assert.Equal("200\t200", _engine.Query($"SELECT count(), uniqExact(k, v) FROM `{db}`.t", format: "TabSeparated").Trim());
    }

    [Fact]
    public async Task Works_through_the_engine_neutral_interface()
    {
        IClickHouse ch = _engine;
        var db = fixture.NewDatabase("iface");
        await ch.ExecuteAsync($"CREATE TABLE `{db}`.visits (store_id String, visits UInt64) ENGINE = SummingMergeTree ORDER BY store_id");
        Assert.Equal(3, await ch.InsertJsonEachRowAsync($"{db}.visits", new[] { ("a", 1), ("b", 2), ("a", 5) }.Select(x => new Visit(x.Item1, (ulong)x.Item2))));

        var rows = await ch.QueryRowsAsync<Visit>(
            $"SELECT store_id, sum(visits) AS visits FROM `{db}`.visits WHERE store_id IN {{ids:Array(String)}} GROUP BY store_id ORDER BY store_id",
            P(("ids", new[] { "a", "b" })));
        Assert.Equal(new[] { new Visit("a", 6), new Visit("b", 2) }, rows);

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ch.QueryAsync("SELECT 1", cancellationToken: cancelled.Token));
    }

    private sealed record Visit(string StoreId, ulong Visits);

    [Fact]
    public void Writes_land_in_the_data_directory_and_measure_insert_rates()
    {
        var db = CreateSales("rate");
        var t0 = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var batch = Enumerable.Range(0, 100_000)
            .Select(i => new Sale("S" + (i % 50), t0.AddMilliseconds(i * 10), i / 100m, ["a"], "note " + i)).ToList();

        var sw = Stopwatch.StartNew();
        _engine.Insert($"{db}.sales", batch);
        var batchTime = sw.Elapsed;

        sw.Restart();
        const int singles = 200;
        for (var i = 0; i < singles; i++)
        {
            _engine.Execute(
                $"INSERT INTO `{db}`.sales (store_id, ts, amount) VALUES ({{s:String}}, {{ts:DateTime64(3, 'UTC')}}, {{a:Decimal(18, 2)}})",
                P(("s", "single"), ("ts", t0), ("a", i)));
        }

        var singleTime = sw.Elapsed;
        output.WriteLine($"JSONEachRow batch: 100000 rows in {batchTime.TotalMilliseconds:F0} ms ({100_000 / batchTime.TotalSeconds:F0} rows/s)");
        output.WriteLine($"single-row VALUES inserts: {singles} in {singleTime.TotalMilliseconds:F0} ms ({singles / singleTime.TotalSeconds:F0}/s)");

        Assert.Equal("100200", _engine.Query($"SELECT count() FROM `{db}`.sales", format: "TabSeparated").Trim());
        var uuid = _engine.Query("SELECT uuid FROM system.tables WHERE database = {db:String} AND name = 'sales'",
            P(("db", db)), "TabSeparated").Trim();
        var tableDir = Path.Combine(_engine.DataPath, "store", uuid[..3], uuid);
        Assert.True(Directory.Exists(tableDir), tableDir);
        Assert.NotEmpty(Directory.EnumerateDirectories(tableDir, "all_*"));
    }
}
