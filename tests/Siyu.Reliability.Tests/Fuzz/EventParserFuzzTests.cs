using System.Reflection;
using Siyu.Contracts.Validation;
using Xunit.Abstractions;

namespace Siyu.Reliability.Tests.Fuzz;

/// <summary>
/// Issue 7.5, the parser: whatever bytes arrive, Parse returns, never throws, and a rejection
/// carries one of the documented reason codes and a bounded, non-empty message. Seeded: a
/// failure prints its seed and case, and SIYU_FUZZ_SEED=N replays that seed.
/// </summary>
public sealed class EventParserFuzzTests(ITestOutputHelper output)
{
    private const int CasesPerSeed = 4000;

    public static readonly IReadOnlySet<string> Reasons = typeof(RejectReason)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToHashSet();

    public static IEnumerable<object[]> Seeds() =>
        Environment.GetEnvironmentVariable("SIYU_FUZZ_SEED") is { } s && int.TryParse(s, out var seed)
            ? [[seed]]
            : [[1], [20261123], [424242]];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Parse_never_throws_and_every_rejection_names_a_documented_reason(int seed)
    {
        var parser = new EventParser();
        var mutator = new Mutator(seed);
        var kinds = new Dictionary<string, (int Valid, int Rejected)>();
        for (var i = 0; i < CasesPerSeed; i++)
        {
            var (channel, payload, kind) = mutator.Next();
            string Where() => $"seed {seed} case {i} ({kind}, {payload.Length} bytes, channel {channel}); replay with SIYU_FUZZ_SEED={seed}; "
                + $"payload starts {Convert.ToBase64String(payload[..Math.Min(payload.Length, 120)])}";
            ParseResult result;
            try
            {
                result = parser.Parse(payload, channel);
            }
            catch (Exception e)
            {
                Assert.Fail($"Parse threw {e.GetType().Name}: {e.Message}\n{Where()}");
                return;
            }
            var (valid, rejected) = kinds.GetValueOrDefault(kind);
            if (result.IsValid)
            {
                kinds[kind] = (valid + 1, rejected);
                Assert.False(string.IsNullOrWhiteSpace(result.Event.EventId), Where());
                Assert.True(payload.Length <= 256 * 1024, "an over-size payload was accepted: " + Where());
            }
            else
            {
                kinds[kind] = (valid, rejected + 1);
                Assert.True(Reasons.Contains(result.Reason), $"undocumented reason '{result.Reason}': {Where()}");
                Assert.False(string.IsNullOrWhiteSpace(result.Error), $"no message for {result.Reason}: {Where()}");
                // The message goes into the dead-letter record and logs: bounded whatever the input.
                Assert.True(result.Error.Length <= 1000, $"{result.Error.Length}-char message for {result.Reason}: {Where()}");
                if (payload.Length > 256 * 1024)
                {
                    Assert.True(result.Reason == RejectReason.PayloadTooLarge, $"over-size payload got {result.Reason}: {Where()}");
                }
            }
            // Deterministic: the same bytes always get the same answer.
            var again = parser.Parse(payload, channel);
            Assert.True(again.IsValid == result.IsValid && again.Reason == result.Reason, "a second parse differs: " + Where());
        }
        output.WriteLine($"seed {seed}: {CasesPerSeed} cases; " + string.Join(", ", kinds.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value.Valid} valid / {k.Value.Rejected} rejected")));
    }
}
