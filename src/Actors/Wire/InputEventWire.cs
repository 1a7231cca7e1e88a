using System.Runtime.Serialization;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Wire;

/// <summary>
/// A validated input event in the binary wire format (inside <see cref="SiyuSerializer"/>'s
/// CustomerBatch). A type code, the envelope, then the type's own fields. Codes and enum values
/// are fixed here, never taken from the C# enums' numbers: reordering an enum must not change the
/// wire. A new event type gets a new code (old bytes still read); changing an existing type's
/// fields needs a new CustomerBatch manifest.
/// </summary>
internal static class InputEventWire
{
    public static void Write(WireWriter w, InputEvent evt)
    {
        w.Byte(TypeCode(evt));
        w.String(evt.EventId);
        w.Instant(evt.OccurredAt);
        w.Byte(ChannelCode(evt.Channel));
        WriteIds(w, evt.Ids);
        w.String(evt.StoreId);
        switch (evt)
        {
            case OrderPlaced o:
                w.String(o.OrderId);
                w.Decimal(o.Amount);
                WriteItems(w, o.Items);
                w.Byte(PaymentCode(o.Payment));
                w.String(o.GuideId);
                w.String(o.CampaignId);
                w.String(o.ShareGroupId);
                break;
            case OrderRefunded r:
                w.String(r.OrderId);
                w.Decimal(r.Amount);
                break;
            case PageViewed p:
                w.String(p.Page);
                break;
            case CouponClaimed c:
                w.String(c.CouponId);
                w.String(c.CampaignId);
                break;
            case PhoneBound or AppOpened or LoggedIn:
                break;
            case ContactAdded a:
                w.String(a.GuideId);
                break;
            case ContactRemoved r:
                w.String(r.GuideId);
                break;
            case GroupJoined j:
                w.String(j.GroupId);
                break;
            case GroupLeft l:
                w.String(l.GroupId);
                break;
            case GroupMessagePosted m:
                w.String(m.GroupId);
                break;
            case SolitaireJoined s:
                w.String(s.GroupId);
                w.String(s.CampaignId);
                WriteItems(w, s.Items);
                break;
            case FlashClaimed f:
                w.String(f.GroupId);
                w.String(f.CampaignId);
                w.String(f.Sku);
                break;
            case Tagged t:
                w.VarUInt((ulong)t.Tags.Count);
                foreach (var (name, value) in t.Tags)
                {
                    w.String(name);
                    w.String(value);
                }
                break;
            case ProfileUpdated u:
                w.Date(u.Birthday);
                w.String(u.Name);
                break;
            case ServiceDone d:
                w.String(d.GuideId);
                w.String(d.Task);
                break;
            case MessageSent m:
                w.String(m.GuideId);
                break;
        }
    }

    public static InputEvent Read(ref WireReader r)
    {
        var code = r.Byte();
        var eventId = r.String();
        var occurredAt = r.Instant();
        var channel = ToChannel(r.Byte());
        var ids = ReadIds(ref r);
        var storeId = r.NullableString();
        // The envelope is set in each initializer: a `with` afterwards would copy every event once more.
        return code switch
        {
            1 => new OrderPlaced
            {
                EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId,
                OrderId = r.String(),
                Amount = r.Decimal(),
                Items = ReadItems(ref r),
                Payment = ToPayment(r.Byte()),
                GuideId = r.NullableString(),
                CampaignId = r.NullableString(),
                ShareGroupId = r.NullableString(),
            },
            2 => new OrderRefunded { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId, OrderId = r.String(), Amount = r.Decimal() },
            3 => new PageViewed { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId, Page = r.String() },
            4 => new CouponClaimed { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId, CouponId = r.String(), CampaignId = r.NullableString() },
            5 => new PhoneBound { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId },
            6 => new AppOpened { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId },
            7 => new LoggedIn { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId },
            8 => new ContactAdded { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId, GuideId = r.String() },
            9 => new ContactRemoved { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId, GuideId = r.String() },
            10 => new GroupJoined { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId, GroupId = r.String() },
            11 => new GroupLeft { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId, GroupId = r.String() },
            12 => new GroupMessagePosted { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId, GroupId = r.String() },
            13 => new SolitaireJoined
            {
                EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId,
                GroupId = r.String(),
                CampaignId = r.String(),
                Items = ReadItems(ref r),
            },
            14 => new FlashClaimed
            {
                EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId,
                GroupId = r.String(),
                CampaignId = r.String(),
                Sku = r.String(),
            },
            15 => new Tagged { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId, Tags = ReadTags(ref r) },
            16 => new ProfileUpdated { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId, Birthday = r.Date(), Name = r.NullableString() },
            17 => new ServiceDone { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId, GuideId = r.String(), Task = r.String() },
            18 => new MessageSent { EventId = eventId, OccurredAt = occurredAt, Channel = channel, Ids = ids, StoreId = storeId, GuideId = r.String() },
            _ => throw new SerializationException($"unknown input event type code {code}"),
        };
    }

    private static byte TypeCode(InputEvent evt) => evt switch
    {
        OrderPlaced => 1,
        OrderRefunded => 2,
        PageViewed => 3,
        CouponClaimed => 4,
        PhoneBound => 5,
        AppOpened => 6,
        LoggedIn => 7,
        ContactAdded => 8,
        ContactRemoved => 9,
        GroupJoined => 10,
        GroupLeft => 11,
        GroupMessagePosted => 12,
        SolitaireJoined => 13,
        FlashClaimed => 14,
        Tagged => 15,
        ProfileUpdated => 16,
        ServiceDone => 17,
        MessageSent => 18,
        _ => throw new SerializationException($"input event {evt.GetType().Name} has no wire type code (add one to {nameof(InputEventWire)})"),
    };

    // Bit i of the presence byte: the id of type IdTypes[i] is there.
    private static readonly IdType[] IdTypes =
        [IdType.MemberId, IdType.Phone, IdType.UnionId, IdType.OpenId, IdType.ExternalUserId, IdType.AppUserId, IdType.DeviceId];

    private static void WriteIds(WireWriter w, CustomerIds ids)
    {
        var present = 0;
        for (var i = 0; i < IdTypes.Length; i++)
        {
            if (ids.Get(IdTypes[i]) is not null)
            {
                present |= 1 << i;
            }
        }
        w.Byte((byte)present);
        for (var i = 0; i < IdTypes.Length; i++)
        {
            if (ids.Get(IdTypes[i]) is { } value)
            {
                w.String(value);
            }
        }
    }

    private static CustomerIds ReadIds(ref WireReader r)
    {
        var present = r.Byte();
        if (present >> IdTypes.Length != 0)
        {
            throw new SerializationException($"unknown id types in presence bits 0x{present:x2}");
        }
        string? Next(ref WireReader r, int bit) => (present & (1 << bit)) != 0 ? r.String() : null;
        return new CustomerIds
        {
            MemberId = Next(ref r, 0),
            Phone = Next(ref r, 1),
            UnionId = Next(ref r, 2),
            OpenId = Next(ref r, 3),
            ExternalUserId = Next(ref r, 4),
            AppUserId = Next(ref r, 5),
            DeviceId = Next(ref r, 6),
        };
    }

    private static void WriteItems(WireWriter w, IReadOnlyList<LineItem> items)
    {
        w.VarUInt((ulong)items.Count);
        foreach (var item in items)
        {
            w.String(item.Sku);
            w.VarInt(item.Qty);
            w.Decimal(item.Price);
        }
    }

    private static LineItem[] ReadItems(ref WireReader r)
    {
        var items = new LineItem[r.Count()];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = new LineItem(r.String(), r.Int32(), r.Decimal());
        }
        return items;
    }

    private static Dictionary<string, string> ReadTags(ref WireReader r)
    {
        var count = r.Count();
        // As the parser builds them: ordinal names.
        var tags = new Dictionary<string, string>(count, StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var name = r.String();
            if (!tags.TryAdd(name, r.String()))
            {
                throw new SerializationException($"tag '{name}' appears twice");
            }
        }
        return tags;
    }

    public static byte ChannelCode(Channel channel) => channel switch
    {
        Channel.Pos => 0,
        Channel.MiniProgram => 1,
        Channel.App => 2,
        Channel.Group => 3,
        _ => throw new SerializationException($"channel {channel} has no wire code"),
    };

    public static Channel ToChannel(byte code) => code switch
    {
        0 => Channel.Pos,
        1 => Channel.MiniProgram,
        2 => Channel.App,
        3 => Channel.Group,
        _ => throw new SerializationException($"unknown channel code {code}"),
    };

    private static byte PaymentCode(Payment payment) => payment switch
    {
        Payment.Cash => 0,
        Payment.Card => 1,
        Payment.WechatPay => 2,
        Payment.WecomCollect => 3,
        _ => throw new SerializationException($"payment {payment} has no wire code"),
    };

    private static Payment ToPayment(byte code) => code switch
    {
        0 => Payment.Cash,
        1 => Payment.Card,
        2 => Payment.WechatPay,
        3 => Payment.WecomCollect,
        _ => throw new SerializationException($"unknown payment code {code}"),
    };

    public static byte IdTypeCode(IdType type) => type switch
    {
        IdType.MemberId => 0,
        IdType.Phone => 1,
        IdType.UnionId => 2,
        IdType.OpenId => 3,
        IdType.ExternalUserId => 4,
        IdType.AppUserId => 5,
        IdType.DeviceId => 6,
        _ => throw new SerializationException($"id type {type} has no wire code"),
    };

    public static IdType ToIdType(byte code) => code switch
    {
        0 => IdType.MemberId,
        1 => IdType.Phone,
        2 => IdType.UnionId,
        3 => IdType.OpenId,
        4 => IdType.ExternalUserId,
        5 => IdType.AppUserId,
        6 => IdType.DeviceId,
        _ => throw new SerializationException($"unknown id type code {code}"),
    };
}
