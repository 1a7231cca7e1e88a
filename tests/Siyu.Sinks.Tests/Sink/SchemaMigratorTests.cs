using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Schema;
using Siyu.Sinks.Tests.ClickHouse;

namespace Siyu.Sinks.Tests.Sink;

[Collection(ChDbCollection.Name)]
[Trait("Clock", "sensitive")] // the node's clock stamps applied_at; chDB's is another one
public sealed class SchemaMigratorTests(ChDbFixture fixture)
{
    private static readonly string[] Tables =
    [
        "attributed_sales", "touches", "profiles", "campaigns", "schema_version", "pipeline_metrics", "operations",
        "campaign_sales_minute", "campaign_sku_minute", "group_sales_minute", "guide_sales_minute", "store_sales_minute",
        "campaign_touch_minute", "guide_touch_minute", "customer_survivors",
    ];

    [Fact]
    public void Scripts_are_numbered_without_gaps_and_use_the_database_placeholder()
    {
        Assert.Equal(Enumerable.Range(1, SchemaMigrator.Scripts.Count), SchemaMigrator.Scripts.Select(s => s.Version));
        foreach (var script in SchemaMigrator.Scripts)
        {
            var statements = script.Statements("siyu");
            Assert.NotEmpty(statements);
            Assert.All(statements, s =>
            {
                // Idempotent statements only: CREATE … IF NOT EXISTS, or ALTER … ADD COLUMN IF NOT EXISTS.
                if (s.StartsWith("ALTER ", StringComparison.Ordinal))
                {
                    Assert.StartsWith("ALTER TABLE `siyu`.", s, StringComparison.Ordinal);
                    Assert.Contains(" ADD COLUMN IF NOT EXISTS ", s, StringComparison.Ordinal);
                }
                else
                {
                    Assert.StartsWith("CREATE ", s, StringComparison.Ordinal);
                    Assert.Contains("IF NOT EXISTS `siyu`.", s, StringComparison.Ordinal);
                }
                Assert.DoesNotContain("{{", s, StringComparison.Ordinal);
                // chDB hangs on DROP … SYNC; nothing here may drop anyway.
                Assert.DoesNotContain("DROP", s, StringComparison.OrdinalIgnoreCase);
            });
        }
    }

    [Fact]
    public async Task Applies_every_script_once_and_a_second_run_changes_nothing()
    {
        var db = fixture.NewDatabase("schema");
        var migrator = new SchemaMigrator(fixture.Engine, db);

        var first = await migrator.MigrateAsync();
        Assert.Equal(SchemaMigrator.Scripts.Select(s => s.Version), first.Applied);
        Assert.Empty(first.AlreadyPresent);
        Assert.Equal(SchemaMigrator.LatestVersion, first.CurrentVersion);

        var second = await new SchemaMigrator(fixture.Engine, db).MigrateAsync();
        Assert.Empty(second.Applied);
        Assert.Equal(first.Applied, second.AlreadyPresent);

        // Every statement is idempotent on its own, too: a migration interrupted halfway re-runs cleanly.
        foreach (var statement in SchemaMigrator.Scripts.SelectMany(s => s.Statements(db)))
        {
            await fixture.Engine.ExecuteAsync(statement);
        }

        var tables = (await fixture.Engine.QueryAsync(
            "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name",
            new Dictionary<string, string> { ["db"] = ClickHouseParam.Of(db) }, "TabSeparated")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var table in Tables)
        {
            Assert.Contains(table, tables);
            if (table.EndsWith("_minute", StringComparison.Ordinal))
            {
                Assert.Contains(table + "_mv", tables); // each aggregate has the view that feeds it
            }
        }

        Assert.Equal($"{SchemaMigrator.Scripts.Count}", (await fixture.Engine.QueryAsync(
            $"SELECT count() FROM `{db}`.schema_version FINAL", format: "TabSeparated")).Trim());
    }

    [Fact]
    public async Task A_changed_script_is_refused()
    {
        var db = fixture.NewDatabase("schemachg");
        await new SchemaMigrator(fixture.Engine, db).MigrateAsync();
        // The edit is recorded after the original, measured on the table's own times: the migrator stamps
        // rows with the node's clock, chDB's now64() is another clock (and faketime moves only one of them).
        await fixture.Engine.ExecuteAsync(
            $"INSERT INTO `{db}`.schema_version SELECT 1, '001_tables.sql', 'edited', max(applied_at) + 1 FROM `{db}`.schema_version");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => new SchemaMigrator(fixture.Engine, db).MigrateAsync());
        Assert.Contains("001_tables.sql", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("siyu; DROP")]
    [InlineData("`siyu`")]
    [InlineData("")]
    public void Database_names_are_plain(string name) =>
        Assert.ThrowsAny<ArgumentException>(() => new SchemaMigrator(fixture.Engine, name));
}
