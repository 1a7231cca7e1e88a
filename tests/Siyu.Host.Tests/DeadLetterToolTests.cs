using System.Text;
using Siyu.Contracts.Json;
using Siyu.Host.DeadLetters;

namespace Siyu.Host.Tests;

/// <summary>Issue 16.3, the parts of `siyu deadletter` that need no broker: safe display, time ranges, what a replay sends.</summary>
public sealed class DeadLetterToolTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Refused_bytes_cannot_drive_the_terminal()
    {
        // An ANSI escape that would clear the screen, a bidi override that reverses what follows, a newline that fakes a line.
        var shown = DeadLetterText.Safe("a\u001b[2Jb\u202Egpj.exe\nc\\u0041");
        Assert.Equal(@"a\u001b[2Jb\u202egpj.exe\u000ac\\u0041", shown);
        Assert.DoesNotContain(shown, c => char.IsControl(c) || c == '\u202e');
        Assert.StartsWith("(not UTF-8, hex) ff fe 41", DeadLetterText.Bytes([0xFF, 0xFE, 0x41], 30));
        Assert.Equal("abcde… (3 more chars)", DeadLetterText.Bytes("abcdefgh"u8.ToArray(), 5));
    }

    [Theory]
    [InlineData("2h", "2026-12-03T06:00:00Z")]
    [InlineData("30m", "2026-12-03T07:30:00Z")]
    [InlineData("7d", "2026-11-26T08:00:00Z")]
    [InlineData("2026-12-01T10:00:00+08:00", "2026-12-01T02:00:00Z")]
    [InlineData("2026-12-01T10:00:00Z", "2026-12-01T10:00:00Z")]
    public void Times_are_spans_back_from_now_or_instants_with_an_offset(string text, string expected)
    {
        Assert.True(DeadLetterText.TryParseTime(text, Now, out var at));
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), at);
    }

    [Theory]
    [InlineData("2026-12-01T10:00:00")] // no offset: a different instant on every machine
    [InlineData("yesterday")]
    [InlineData("2x")]
    public void Ambiguous_times_are_refused(string text) => Assert.False(DeadLetterText.TryParseTime(text, Now, out _));

    [Fact]
    public void A_replay_sends_each_message_once_in_its_original_order_and_never_a_cut_one()
    {
        var letters = new List<DeadLetter>
        {
            Letter(0, "siyu.pos", 1, 9, "payload_too_large", "{\"b\":1}"),
            Letter(1, "siyu.pos", 1, 3, "payload_too_large", "{\"a\":1}"),
            // The same message refused again (a replay before the fix): sent once.
            Letter(2, "siyu.pos", 1, 40, "payload_too_large", "{\"a\":1}"),
            Letter(3, "siyu.app", 0, 5, "payload_too_large", "{\"c\":1}", truncated: true),
            Letter(4, "siyu.pos", 0, 7, "malformed_json", "{x"),
            new DeadLetter(0, 5, Now, null, null, "tombstone"),
        };
        var plan = ReplayPlan.For(letters, "payload_too_large");
        Assert.Equal(4, plan.Matched);
        Assert.Equal(1, plan.Copies);
        Assert.Single(plan.Truncated);
        Assert.Single(plan.Unreadable);
        Assert.Equal(["{\"a\":1}", "{\"b\":1}"], plan.Messages.Select(m => Encoding.UTF8.GetString(m.Value)));
        Assert.All(plan.Messages, m => Assert.Equal("siyu.pos", m.Topic));
        Assert.All(plan.Messages, m => Assert.Equal("K", Encoding.UTF8.GetString(m.Key!)));
    }

    private static DeadLetter Letter(long offset, string topic, int partition, long sourceOffset, string reason, string raw, bool truncated = false) =>
        new(0, offset, Now, "K"u8.ToArray(),
            new DeadLetterRecord(topic, partition, sourceOffset, reason, "why", raw, "utf8", raw.Length + (truncated ? 10 : 0), truncated), null);
}
