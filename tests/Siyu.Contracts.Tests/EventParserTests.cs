using System.Text;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;
using Siyu.Contracts.Validation;
using Siyu.Tests.Shared;

namespace Siyu.Contracts.Tests;

public sealed class EventParserTests
{
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static readonly EventParser Parser = new(clock: new FixedClock(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero)));

    public static TheoryData<EventCorpus.Case> GoodCases() => [.. EventCorpus.Good];
    public static TheoryData<EventCorpus.Case> BadCases() => [.. EventCorpus.Bad];

    [Theory]
    [MemberData(nameof(GoodCases))]
    public void Every_contract_type_parses_on_its_channel(EventCorpus.Case c)
    {
        var result = Parser.Parse(c.Payload, c.Channel);
        Assert.True(result.IsValid, $"{c.Name}: {result.Reason} {result.Error}");
        Assert.Equal(c.Channel, result.Event.Channel);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 10, 15, 0, 123, TimeSpan.FromHours(8)), result.Event.OccurredAt);
        Assert.Equal("S001", result.Event.StoreId);
    }

    [Theory]
    [MemberData(nameof(BadCases))]
    public void Every_bad_input_is_rejected_with_its_reason(EventCorpus.Case c)
    {
        var result = Parser.Parse(c.Payload, c.Channel);
        Assert.False(result.IsValid, $"{c.Name} was accepted as {result.Event}");
        Assert.Equal(c.ExpectedReason, result.Reason);
        Assert.False(string.IsNullOrWhiteSpace(result.Error));
    }

    [Fact]
    public void The_corpus_covers_at_least_twenty_bad_cases_and_many_reasons()
    {
        Assert.True(EventCorpus.Bad.Count >= 20);
        Assert.True(EventCorpus.Bad.Select(b => b.ExpectedReason).Distinct().Count() >= 15);
    }

    [Fact]
    public void An_order_keeps_every_field()
    {
        var result = Parser.Parse(EventCorpus.Good[0].Payload, Channel.Pos);
        var order = Assert.IsType<OrderPlaced>(result.Event);
        Assert.Equal("g-1", order.EventId);
        Assert.Equal("O1", order.OrderId);
        Assert.Equal(199.00m, order.Amount);
        Assert.Equal(Payment.WecomCollect, order.Payment);
        Assert.Equal("G1", order.GuideId);
        Assert.Equal("C1", order.CampaignId);
        Assert.Equal(new LineItem("CHERRY-5J", 1, 199.00m), Assert.Single(order.Items));
        Assert.Equal("M1", order.Ids.MemberId);
        Assert.Equal("13800000001", order.Ids.Phone);
    }

    [Fact]
    public void Tag_values_that_are_numbers_are_kept_as_text()
    {
        var tagged = Assert.IsType<Tagged>(Parser.Parse(EventCorpus.Good.Single(g => g.Name == "group tag").Payload, Channel.Group).Event);
        Assert.Equal("42", tagged.Tags["shoe_size"]);
        Assert.Equal("2026-03", tagged.Tags["baby_birth_month"]);
    }

    [Theory]
    [InlineData("amount as string", "amount must be a number of yuan with at most 2 decimals, e.g. 199.00, not a string")]
    [InlineData("member_id as number", "ids.member_id must be a string, not the number 10001")]
    [InlineData("ids as array", "ids must be an object of id type to value, e.g. {\"member_id\":\"M1\"}, not an array")]
    [InlineData("item qty as float", "items[0].qty must be a whole number, not the number 1.5")]
    [InlineData("tag with object value", "tags.size must be a string, number or boolean, not an object")]
    [InlineData("amount given twice", "amount is given twice; every key may appear once per object")]
    [InlineData("member_id given twice", "ids.member_id is given twice; every key may appear once per object")]
    [InlineData("sku given twice in an item", "items[0].sku is given twice; every key may appear once per object")]
    [InlineData("key twice inside an unknown object", "extra[0].a is given twice; every key may appear once per object")]
    [InlineData("amount 1e30", "amount 1e30 is out of range; it must be yuan with at most 2 decimals, from 0 to 10000000")]
    [InlineData("only placeholders", "no usable id: ids.member_id 'null' is a placeholder, not an id; ids.phone '-' is a placeholder, not an id; ids.openid 'undefined' is a placeholder, not an id")]
    [InlineData("a phone that is no number", "no usable id: ids.phone is not a valid phone number")]
    public void Errors_name_the_field_and_the_problem_in_the_contract_s_words(string name, string error)
    {
        var c = EventCorpus.Bad.Single(b => b.Name == name);
        Assert.Equal(error, Parser.Parse(c.Payload, c.Channel).Error);
    }

    [Theory]
    [MemberData(nameof(BadCases))]
    public void No_error_names_a_dotnet_type(EventCorpus.Case c)
    {
        var error = Parser.Parse(c.Payload, c.Channel).Error!;
        Assert.DoesNotMatch(@"System\.|Siyu\.|Nullable|`1|Int32|Decimal|WireIds|WireEvent|WireItem", error);
    }

    [Fact]
    public void A_placeholder_id_is_dropped_and_reported_while_the_others_link()
    {
        var result = Parser.Parse(EventCorpus.Good.Single(g => g.Name == "placeholder phone beside a member id").Payload, Channel.Pos);
        Assert.True(result.IsValid, result.Error);
        Assert.Equal(new CustomerIds { MemberId = "M1" }, result.Event.Ids);
        var refused = Assert.Single(result.RefusedIds);
        Assert.Equal((IdType.Phone, "blocked_value"), (refused.Type, refused.Reason));
    }

    [Fact]
    public void A_phone_comes_out_canonical()
    {
        var bind = Parser.Parse(EventCorpus.Good.Single(g => g.Name == "mp bind_phone").Payload, Channel.MiniProgram);
        Assert.Equal("13800000001", bind.Event!.Ids.Phone); // given as "+86 138-0000-0001"
    }

    [Theory]
    [MemberData(nameof(GoodCases))]
    public void Writing_a_parsed_event_and_parsing_it_again_gives_the_same_event(EventCorpus.Case c)
    {
        var first = Parser.Parse(c.Payload, c.Channel).Event!;
        var again = Parser.Parse(EventWriter.ToUtf8Json(first), c.Channel);
        Assert.True(again.IsValid, again.Error);
        // Records compare collections by reference, so compare the wire form instead.
        Assert.Equal(Encoding.UTF8.GetString(EventWriter.ToUtf8Json(first)), Encoding.UTF8.GetString(EventWriter.ToUtf8Json(again.Event)));
        Assert.Equal(first.OccurredAt, again.Event.OccurredAt);
        Assert.Equal(first.OccurredAt.Offset, again.Event.OccurredAt.Offset);
    }

    [Fact]
    public void Every_type_of_every_channel_is_in_the_good_corpus()
    {
        foreach (var (channel, types) in EventParser.TypesByChannel)
        {
            foreach (var type in types)
            {
                var covered = EventCorpus.Good.Any(g => g.Channel == channel && Parser.Parse(g.Payload, channel).Event?.Type == type)
                    || EventCorpus.Good.Any(g => Parser.Parse(g.Payload, g.Channel).Event?.Type == type);
                Assert.True(covered, $"{channel}/{type} has no good example");
            }
        }
    }
}
