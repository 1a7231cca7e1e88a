using Siyu.Host.Bench;

namespace Siyu.Host.Tests;

public sealed class BenchComparisonTests
{
    private const string Old = """
        { "format": 1, "machine": "m", "options": { "customers": 20000 }, "a_baseline_msgs_per_s": 200000,
          "nodes": [ { "label": "product", "b_events_per_s": 1483, "c_freshness_p99_ms": null, "f_totals_identical": true, "gone": 3 } ] }
        """;

    private const string New = """
        { "format": 1, "machine": "m", "options": { "customers": 20000 }, "a_baseline_msgs_per_s": 250000,
          "nodes": [ { "label": "product", "b_events_per_s": 2966, "c_freshness_p99_ms": 900, "f_totals_identical": true, "added": 1 } ] }
        """;

    [Fact]
    public void Every_figure_of_the_run_and_its_product_node_side_by_side_with_the_ratio()
    {
        var rows = BenchComparison.Compare(Old, New).ToDictionary(r => r.Name);
        Assert.Equal(2.0, rows["b_events_per_s"].Ratio!.Value, 3);
        Assert.Equal(1.25, rows["a_baseline_msgs_per_s"].Ratio!.Value, 3);
        Assert.Equal(20000, rows["options.customers"].New);
        Assert.Equal(1, rows["f_totals_identical"].New);
        // A figure one run could not measure, or that only one file has, is shown without a ratio.
        Assert.Null(rows["c_freshness_p99_ms"].Ratio);
        Assert.Equal((3.0, (double?)null), (rows["gone"].Old!.Value, rows["gone"].New));
        Assert.Equal(((double?)null, 1.0), (rows["added"].Old, rows["added"].New!.Value));
        Assert.DoesNotContain("label", rows.Keys);
    }

    [Fact]
    public void A_file_that_is_not_a_bench_result_is_refused_with_a_reason()
    {
        Assert.Contains("not JSON", Assert.Throws<FormatException>(() => BenchComparison.Compare("{", New)).Message);
        Assert.Contains("format 1", Assert.Throws<FormatException>(() => BenchComparison.Compare("""{"format":2}""", New)).Message);
    }
}
