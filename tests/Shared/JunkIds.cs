namespace Siyu.Tests.Shared;

/// <summary>
/// What tills, mini-programs and CRMs send when they have no id (issue #15): none of these may
/// ever link two customers or find one. Used by the unit tests of the id rules and by the
/// end-to-end test that throws them at ingest and at the lookup API.
/// </summary>
public static class JunkIds
{
    /// <summary>Refused for every id type (placeholders and junk shapes).</summary>
    public static IReadOnlyList<string> AnyType { get; } =
    [
        "N/A", "n/a", "NA", "n.a.", "-", "--", "—", "_", "/", "?", "***", "...",
        "none", "None", "NULL", "null", "nil", "undefined", "unknown", "Unknown ", "anonymous", "guest", "test",
        "0", "00", "000000", "-1", "x", "(null)", "{}",
        "00000000000", "11111111111", "99999999999", "12345678901", "123456",
        "00000000-0000-0000-0000-000000000000",
        "无", "暂无", "未知", "匿名", "散客", "游客",
        "ｎｕｌｌ", "Ｎ／Ａ", "０", "\u3000-\u3000",
    ];

    /// <summary>Refused as phones only: not valid numbers in region CN (service numbers, cut short, letters).</summary>
    public static IReadOnlyList<string> PhoneOnly { get; } =
    [
        "10086", "95588", "110", "12", "+86", "+86 000", "tel:", "phone", "no phone", "13800", "+86 138 0000", "8613", "1380000", "1234567",
    ];
}
