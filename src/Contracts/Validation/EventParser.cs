using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Unicode;
using Siyu.Contracts.Events;
using Siyu.Contracts.Identity;
using Siyu.Contracts.Json;

namespace Siyu.Contracts.Validation;

/// <summary>
/// Parses and validates one input message. Pure and thread-safe: the same bytes always give
/// the same answer (given the clock), and every rejection carries a stable reason code.
/// </summary>
public sealed partial class EventParser(EventParserOptions? options = null, TimeProvider? clock = null)
{
    private readonly EventParserOptions _options = options ?? new EventParserOptions();
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    // RFC 3339 date-time with a mandatory offset; .NET's parser alone would accept far more.
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,7})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339();

    public ParseResult Parse(ReadOnlySpan<byte> payload, Channel channel)
    {
        if (payload.IsEmpty)
        {
            return ParseResult.Invalid(RejectReason.EmptyPayload, "the message has no value");
        }
        if (payload.Length > _options.MaxPayloadBytes)
        {
            return ParseResult.Invalid(RejectReason.PayloadTooLarge,
                $"payload is {payload.Length} bytes; the limit is {_options.MaxPayloadBytes} (Ingest:MaxPayloadBytes)");
        }
        if (!Utf8.IsValid(payload))
        {
            return ParseResult.Invalid(RejectReason.InvalidUtf8, "payload is not valid UTF-8");
        }
        // Some Windows tills write UTF-8 with a byte order mark: it says nothing, so it is skipped.
        if (payload.StartsWith(Utf8Bom))
        {
            payload = payload[Utf8Bom.Length..];
            if (payload.IsEmpty)
            {
                return ParseResult.Invalid(RejectReason.EmptyPayload, "the message holds only a UTF-8 byte order mark");
            }
        }

        WireEvent? wire;
        try
        {
            wire = JsonSerializer.Deserialize(payload, SiyuJsonContext.Default.WireEvent);
        }
        catch (JsonException ex)
        {
            return ClassifyJsonError(payload, ex);
        }
        catch (InvalidOperationException)
        {
            // Well-formed JSON whose escapes spell half a UTF-16 pair ("\ud800" alone): the reader
            // throws this for some keys rather than a JsonException.
            return HalfSurrogate();
        }
        if (wire is null)
        {
            return ParseResult.Invalid(RejectReason.NotAnObject, "payload is JSON null, not an event object");
        }
        return Validate(wire, channel);
    }

    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    private static ParseResult HalfSurrogate() => ParseResult.Invalid(RejectReason.MalformedJson,
        "a string or key escapes half a UTF-16 surrogate pair (\\uD800-\\uDFFF alone), which is no text");

    // Runs only on the failure path: tells broken JSON from a duplicated key from well-formed
    // JSON with a wrong type, and says which field in an integrator's words (the serializer's
    // own message names .NET types).
    private static ParseResult ClassifyJsonError(ReadOnlySpan<byte> payload, JsonException ex)
    {
        var reader = new Utf8JsonReader(payload);
        try
        {
            while (reader.Read())
            {
            }
        }
        catch (JsonException syntax)
        {
            return ParseResult.Invalid(RejectReason.MalformedJson, syntax.Message);
        }
        if (WireErrors.HasUndecodableString(payload))
        {
            return HalfSurrogate();
        }
        if (WireErrors.FindDuplicateKey(payload) is { } duplicate)
        {
            return ParseResult.Invalid(RejectReason.DuplicateKey,
                $"{duplicate} is given twice; every key may appear once per object");
        }
        if (ex.Path is null or "$")
        {
            return ParseResult.Invalid(RejectReason.NotAnObject, "payload must be a JSON object");
        }
        return ParseResult.Invalid(RejectReason.WrongFieldType, WireErrors.DescribeWrongType(payload, ex.Path));
    }

    private ParseResult Validate(WireEvent w, Channel channel)
    {
        if (string.IsNullOrWhiteSpace(w.EventId))
        {
            return ParseResult.Invalid(RejectReason.MissingEventId, "event_id is required");
        }
        if (w.EventId.Length > _options.MaxEventIdLength)
        {
            return ParseResult.Invalid(RejectReason.InvalidEventId,
                $"event_id is {w.EventId.Length} characters; the limit is {_options.MaxEventIdLength}");
        }
        if (string.IsNullOrWhiteSpace(w.Type))
        {
            return ParseResult.Invalid(RejectReason.MissingType, "type is required");
        }
        if (string.IsNullOrEmpty(w.OccurredAt))
        {
            return ParseResult.Invalid(RejectReason.MissingOccurredAt, "occurred_at is required");
        }
        if (!Rfc3339().IsMatch(w.OccurredAt)
            || !DateTimeOffset.TryParse(w.OccurredAt, CultureInfo.InvariantCulture, DateTimeStyles.None, out var occurredAt))
        {
            return ParseResult.Invalid(RejectReason.InvalidOccurredAt,
                $"occurred_at '{Truncate(w.OccurredAt)}' is not an RFC 3339 timestamp with an offset");
        }
        var now = _clock.GetUtcNow();
        if (occurredAt < _options.MinOccurredAt || occurredAt > now + _options.MaxFutureSkew)
        {
            return ParseResult.Invalid(RejectReason.OccurredAtOutOfRange,
                $"occurred_at {w.OccurredAt} is before {_options.MinOccurredAt:yyyy-MM-dd} or more than {_options.MaxFutureSkew.TotalHours:0}h ahead of now");
        }
        var idsResult = ValidateIds(w.Ids);
        if (idsResult.Error is not null)
        {
            return idsResult.Error.Value;
        }
        var ids = idsResult.Ids!;
        var common = new Common(w.EventId, occurredAt, channel, ids, Blank(w.StoreId) ? null : w.StoreId, idsResult.Refused);
        return BuildTyped(w, channel, common);
    }

    private readonly record struct Common(string EventId, DateTimeOffset OccurredAt, Channel Channel, CustomerIds Ids, string? StoreId,
        IReadOnlyList<RefusedIdValue> Refused);

    private (CustomerIds? Ids, IReadOnlyList<RefusedIdValue> Refused, ParseResult? Error) ValidateIds(WireIds? w)
    {
        if (w is null)
        {
            return (null, [], ParseResult.Invalid(RejectReason.MissingIds, "ids is required and must name at least one id"));
        }
        var ids = new CustomerIds
        {
            MemberId = Clean(w.MemberId),
            Phone = Clean(w.Phone),
            UnionId = Clean(w.UnionId),
            OpenId = Clean(w.OpenId),
            ExternalUserId = Clean(w.ExternalUserId),
            AppUserId = Clean(w.AppUserId),
            DeviceId = Clean(w.DeviceId),
        };
        if (ids.IsEmpty)
        {
            return (null, [], ParseResult.Invalid(RejectReason.MissingIds, "ids must name at least one non-empty id"));
        }
        foreach (var (type, value) in ids.All())
        {
            if (value.Length > _options.MaxIdLength)
            {
                return (null, [], ParseResult.Invalid(RejectReason.InvalidId,
                    $"ids.{type.WireName()} is {value.Length} characters; the limit is {_options.MaxIdLength}"));
            }
        }
        // Placeholders and impossible phones link no one: dropped, the event keeps its other ids.
        var (usable, refused) = _options.IdValues.Clean(ids);
        if (usable.IsEmpty)
        {
            return (null, refused, ParseResult.Invalid(RejectReason.NoUsableIds,
                "no usable id: " + string.Join("; ", refused.Select(r => r.Describe()))));
        }
        return (usable, refused, null);
    }

    private ParseResult BuildTyped(WireEvent w, Channel channel, Common c)
    {
        if (!TypesByChannel[channel].Contains(w.Type!))
        {
            return ParseResult.Invalid(RejectReason.UnknownType,
                $"type '{Truncate(w.Type!)}' is not a {channel.WireName()} event; expected one of {string.Join(", ", TypesByChannel[channel])}");
        }
        return w.Type switch
        {
            "order" => Order(w, c),
            "refund" => Refund(w, c),
            "page_view" => Require(w.Page, "page", () => Init(new PageViewed { Page = w.Page! }, c)),
            "coupon_claim" => Require(w.CouponId, "coupon_id", () => Init(new CouponClaimed { CouponId = w.CouponId!, CampaignId = NullIfBlank(w.CampaignId) }, c)),
            "bind_phone" => c.Ids.Phone is not null && (c.Ids.OpenId is not null || c.Ids.UnionId is not null)
                ? Init(new PhoneBound(), c)
                : ParseResult.Invalid(RejectReason.MissingIds, "bind_phone needs ids.phone and ids.openid or ids.unionid" + RefusedNote(c)),
            "app_open" => Init(new AppOpened(), c),
            "login" => c.Ids.AppUserId is not null && (c.Ids.MemberId is not null || c.Ids.Phone is not null)
                ? Init(new LoggedIn(), c)
                : ParseResult.Invalid(RejectReason.MissingIds, "login needs ids.app_user_id and ids.member_id or ids.phone" + RefusedNote(c)),
            "contact_added" => Require(w.GuideId, "guide_id", () => Init(new ContactAdded { GuideId = w.GuideId! }, c)),
            "contact_removed" => Require(w.GuideId, "guide_id", () => Init(new ContactRemoved { GuideId = w.GuideId! }, c)),
            "group_join" => Require(w.GroupId, "group_id", () => Init(new GroupJoined { GroupId = w.GroupId! }, c)),
            "group_leave" => Require(w.GroupId, "group_id", () => Init(new GroupLeft { GroupId = w.GroupId! }, c)),
            "message" => Require(w.GroupId, "group_id", () => Init(new GroupMessagePosted { GroupId = w.GroupId! }, c)),
            "solitaire_join" => Solitaire(w, c),
            "flash_claim" => Require(w.GroupId, "group_id", () => Require(w.CampaignId, "campaign_id", () => Require(w.Sku, "sku", () =>
                Init(new FlashClaimed { GroupId = w.GroupId!, CampaignId = w.CampaignId!, Sku = w.Sku! }, c)))),
            "tag" => Tag(w, c),
            "profile_update" => ProfileUpdate(w, c),
            "service_done" => Require(w.GuideId, "guide_id", () => Require(w.Task, "task", () =>
                Init(new ServiceDone { GuideId = w.GuideId!, Task = w.Task! }, c))),
            "message_sent" => Require(w.GuideId, "guide_id", () => Init(new MessageSent { GuideId = w.GuideId! }, c)),
            _ => ParseResult.Invalid(RejectReason.UnknownType, $"type '{Truncate(w.Type!)}' is not known"),
        };
    }

    private static string RefusedNote(Common c) =>
        c.Refused.Count == 0 ? "" : " (refused: " + string.Join("; ", c.Refused.Select(r => r.Describe())) + ")";

    /// <summary>Which types each channel carries (contract table).</summary>
    public static readonly IReadOnlyDictionary<Channel, IReadOnlySet<string>> TypesByChannel = new Dictionary<Channel, IReadOnlySet<string>>
    {
        [Channel.Pos] = new HashSet<string> { "order", "refund" },
        [Channel.MiniProgram] = new HashSet<string> { "page_view", "coupon_claim", "order", "refund", "bind_phone" },
        [Channel.App] = new HashSet<string> { "app_open", "login", "page_view", "order", "refund" },
        [Channel.Group] = new HashSet<string>
        {
            "contact_added", "contact_removed", "group_join", "group_leave", "message", "solitaire_join",
            "flash_claim", "tag", "profile_update", "service_done", "message_sent",
        },
    };

    private ParseResult Order(WireEvent w, Common c)
    {
        if (Blank(w.OrderId))
        {
            return Missing("order_id");
        }
        if (CheckAmount(w.Amount) is { } bad)
        {
            return bad;
        }
        if (Blank(w.Payment))
        {
            return Missing("payment");
        }
        if (!TryParsePayment(w.Payment!, out var payment))
        {
            return ParseResult.Invalid(RejectReason.InvalidPayment,
                $"payment '{Truncate(w.Payment!)}' is not one of cash, card, wechat_pay, wecom_collect");
        }
        var items = CheckItems(w.Items, required: true);
        if (items.Error is not null)
        {
            return items.Error.Value;
        }
        return Init(new OrderPlaced
        {
            OrderId = w.OrderId!,
            Amount = w.Amount!.Value.Value,
            Items = items.Items!,
            Payment = payment,
            GuideId = NullIfBlank(w.GuideId),
            CampaignId = NullIfBlank(w.CampaignId),
            ShareGroupId = NullIfBlank(w.ShareGroupId),
        }, c);
    }

    private ParseResult Refund(WireEvent w, Common c)
    {
        if (Blank(w.OrderId))
        {
            return Missing("order_id");
        }
        if (CheckAmount(w.Amount) is { } bad)
        {
            return bad;
        }
        return Init(new OrderRefunded
        {
            OrderId = w.OrderId!, Amount = w.Amount!.Value.Value,
        }, c);
    }

    private ParseResult Solitaire(WireEvent w, Common c)
    {
        if (Blank(w.GroupId))
        {
            return Missing("group_id");
        }
        if (Blank(w.CampaignId))
        {
            return Missing("campaign_id");
        }
        var items = CheckItems(w.Items, required: true);
        if (items.Error is not null)
        {
            return items.Error.Value;
        }
        return Init(new SolitaireJoined
        {
            GroupId = w.GroupId!, CampaignId = w.CampaignId!, Items = items.Items!,
        }, c);
    }

    private static ParseResult Tag(WireEvent w, Common c)
    {
        if (w.Tags is null || w.Tags.Count == 0)
        {
            return Missing("tags");
        }
        var tags = new Dictionary<string, string>(w.Tags.Count, StringComparer.Ordinal);
        foreach (var (name, value) in w.Tags)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                return ParseResult.Invalid(RejectReason.InvalidField, "tags has an empty tag name");
            }
            // Shoe size 42 and "42" mean the same to a guide: numbers and booleans are kept as text.
            string? text = value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
                _ => null,
            };
            if (text is null)
            {
                return ParseResult.Invalid(RejectReason.WrongFieldType,
                    $"tags.{Truncate(name)} must be a string, number or boolean, not {WireErrors.KindName(value.ValueKind)}");
            }
            tags[name] = text;
        }
        return Init(new Tagged { Tags = tags }, c);
    }

    private static ParseResult ProfileUpdate(WireEvent w, Common c)
    {
        if (Blank(w.Birthday) && Blank(w.Name))
        {
            return ParseResult.Invalid(RejectReason.MissingField, "profile_update needs birthday or name");
        }
        DateOnly? birthday = null;
        if (!Blank(w.Birthday))
        {
            if (!DateOnly.TryParseExact(w.Birthday, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var b))
            {
                return ParseResult.Invalid(RejectReason.InvalidField, $"birthday '{Truncate(w.Birthday!)}' is not a yyyy-MM-dd date");
            }
            birthday = b;
        }
        return Init(new ProfileUpdated
        {
            Birthday = birthday, Name = NullIfBlank(w.Name),
        }, c);
    }

    private ParseResult? CheckAmount(WireNumber? given)
    {
        if (given is not { } number)
        {
            return Missing("amount");
        }
        if (number.OutOfRange is { } text)
        {
            return ParseResult.Invalid(RejectReason.InvalidAmount,
                $"amount {text} is out of range; it must be yuan with at most 2 decimals, from 0 to {_options.MaxAmount}");
        }
        var amount = number.Value;
        if (amount < 0)
        {
            return ParseResult.Invalid(RejectReason.NegativeAmount, $"amount {amount} is negative; refunds carry a positive amount");
        }
        if (amount > _options.MaxAmount || decimal.Round(amount, 2) != amount)
        {
            return ParseResult.Invalid(RejectReason.InvalidAmount,
                $"amount {amount} must be yuan with at most 2 decimals and at most {_options.MaxAmount}");
        }
        return null;
    }

    private (IReadOnlyList<LineItem>? Items, ParseResult? Error) CheckItems(List<WireItem>? items, bool required)
    {
        if (items is null || items.Count == 0)
        {
            return required ? (null, Missing("items")) : ([], null);
        }
        if (items.Count > _options.MaxItems)
        {
            return (null, ParseResult.Invalid(RejectReason.InvalidItems, $"{items.Count} items; the limit is {_options.MaxItems}"));
        }
        var result = new LineItem[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            var it = items[i];
            if (it is null || Blank(it.Sku) || it.Qty is not > 0 || it.Price is not { OutOfRange: null, Value: var price }
                || price < 0 || price > _options.MaxAmount || decimal.Round(price, 2) != price)
            {
                return (null, ParseResult.Invalid(RejectReason.InvalidItems,
                    $"items[{i}] needs a sku, a qty above 0 and a price from 0 to {_options.MaxAmount} with at most 2 decimals"));
            }
            result[i] = new LineItem(it.Sku!, it.Qty.Value, price);
        }
        return (result, null);
    }

    private static bool TryParsePayment(string value, out Payment payment)
    {
        (bool ok, payment) = value switch
        {
            "cash" => (true, Payment.Cash),
            "card" => (true, Payment.Card),
            "wechat_pay" => (true, Payment.WechatPay),
            "wecom_collect" => (true, Payment.WecomCollect),
            _ => (false, default),
        };
        return ok;
    }

    private static ParseResult Require(string? value, string field, Func<ParseResult> then) =>
        Blank(value) ? Missing(field) : then();

    private static ParseResult Missing(string field) =>
        ParseResult.Invalid(RejectReason.MissingField, $"{field} is required for this event type");

    // Stamps the envelope fields shared by every type onto the typed event.
    private static ParseResult Init(InputEvent evt, Common c) => ParseResult.Valid(evt with
    {
        EventId = c.EventId, OccurredAt = c.OccurredAt, Channel = c.Channel, Ids = c.Ids, StoreId = c.StoreId,
    }, c.Refused);

    private static bool Blank(string? s) => string.IsNullOrWhiteSpace(s);
    private static string? NullIfBlank(string? s) => Blank(s) ? null : s;
    private static string? Clean(string? s) => Blank(s) ? null : s!.Trim();
    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
