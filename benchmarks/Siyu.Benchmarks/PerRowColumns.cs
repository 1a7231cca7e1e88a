using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Siyu.Benchmarks;

/// <summary>Each case's figures per row (its "Count" parameter): rows/s, µs/row, bytes allocated/row.</summary>
internal sealed class PerRowColumns(string name, Func<Summary, BenchmarkCase, double?> perOperation, Func<double, int, double> perRow, string format) : IColumn
{
    public static readonly IColumn[] All =
    [
        new PerRowColumns("rows/s", Mean, (ns, rows) => rows / (ns / 1e9), "N0"),
        new PerRowColumns("µs/row", Mean, (ns, rows) => ns / 1e3 / rows, "N2"),
        new PerRowColumns("B/row", Allocated, (bytes, rows) => bytes / rows, "N0"),
    ];

    private static double? Mean(Summary summary, BenchmarkCase c) => summary[c]?.ResultStatistics?.Mean;

    private static double? Allocated(Summary summary, BenchmarkCase c) => summary[c]?.GcStats.GetBytesAllocatedPerOperation(c);

    public string Id => nameof(PerRowColumns) + name;
    public string ColumnName => name;
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => $"{name}: per row of the case's Count";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var rows = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Count")?.Value is int n ? n : 0;
        return rows > 0 && perOperation(summary, benchmarkCase) is { } value ? perRow(value, rows).ToString(format, CultureInfo.InvariantCulture) : "-";
    }
}
