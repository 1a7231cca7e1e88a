using Siyu.Sinks.ClickHouse;

namespace Siyu.Sinks.Tests.ClickHouse;

public sealed class ClickHouseParamTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("it's", "it's")]
    [InlineData("a\\b", "a\\\\b")]
    [InlineData("t\tn\nr\r", "t\\tn\\nr\\r")]
    [InlineData("\\N", "\\\\N")]
    public void Strings_use_the_escaped_form(string value, string expected) =>
        Assert.Equal(expected, ClickHouseParam.Of(value));

    [Fact]
    public void Scalars_use_invariant_text()
    {
        Assert.Equal(ClickHouseParam.Null, ClickHouseParam.Of(null));
        Assert.Equal("true", ClickHouseParam.Of(true));
        Assert.Equal("-12.50", ClickHouseParam.Of(-12.50m));
        Assert.Equal("1E-05", ClickHouseParam.Of(0.00001));
        Assert.Equal("18446744073709551615", ClickHouseParam.Of(ulong.MaxValue));
        Assert.Equal("2025-01-02 03:04:05", ClickHouseParam.Of(new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc)));
        Assert.Equal("2025-01-02 03:04:05.2500000", ClickHouseParam.Of(new DateTime(2025, 1, 2, 3, 4, 5, 250, DateTimeKind.Utc)));
        Assert.Equal("2025-01-01 19:04:05", ClickHouseParam.Of(new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.FromHours(8))));
        Assert.Equal("2025-01-02", ClickHouseParam.Of(new DateOnly(2025, 1, 2)));
    }

    [Fact]
    public void Sequences_become_array_literals()
    {
        Assert.Equal("['a','o\\'neil','b\\\\s']", ClickHouseParam.Of(new[] { "a", "o'neil", "b\\s" }));
        Assert.Equal("[1,2,3]", ClickHouseParam.Of(new List<int> { 1, 2, 3 }));
        Assert.Equal("['x',NULL]", ClickHouseParam.Of(new string?[] { "x", null }));
        Assert.Equal("[[1],[]]", ClickHouseParam.Of(new[] { new[] { 1 }, Array.Empty<int>() }));
        Assert.Equal("['2025-01-02 03:04:05']", ClickHouseParam.Of(new[] { new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc) }));
    }

    [Theory]
    [InlineData("events", "`events`")]
    [InlineData("siyu.events_v2", "`siyu`.`events_v2`")]
    public void Table_names_are_quoted(string name, string expected) =>
        Assert.Equal(expected, ClickHouseSql.QuoteTableName(name));

    [Theory]
    [InlineData("a.b.c")]
    [InlineData("t; DROP TABLE x")]
    [InlineData("`t`")]
    [InlineData("1abc")]
    [InlineData("t FORMAT CSV")]
    public void Other_table_names_are_refused(string name) =>
        Assert.Throws<ArgumentException>(() => ClickHouseSql.QuoteTableName(name));

    [Fact]
    public void Exception_parses_code_and_name()
    {
        var ex = new ClickHouseException("Code: 73. DB::Exception: Code: 73. DB::Exception: Unknown format Bogus. (UNKNOWN_FORMAT) (version 26.5.1.1). (UNKNOWN_FORMAT)");
        Assert.Equal(73, ex.Code);
        Assert.Equal("UNKNOWN_FORMAT", ex.ErrorName);
        Assert.Null(new ClickHouseException("engine gone").Code);
    }
}
