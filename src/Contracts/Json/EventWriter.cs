using System.Globalization;
using System.Text.Json;
using Siyu.Contracts.Events;

namespace Siyu.Contracts.Json;

/// <summary>Writes a typed event in the contract's wire format (the generator and tools use it).</summary>
public static class EventWriter
{
    public static byte[] ToUtf8Json(InputEvent evt) =>
        JsonSerializer.SerializeToUtf8Bytes(ToWire(evt), SiyuJsonContext.Default.WireEvent);

    public static WireEvent ToWire(InputEvent evt)
    {
        var w = new WireEvent
        {
            EventId = evt.EventId,
            Type = evt.Type,
            // Round-trip format keeps the producer's offset, as the contract asks.
            OccurredAt = evt.OccurredAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture),
            StoreId = evt.StoreId,
            Ids = new WireIds
            {
                MemberId = evt.Ids.MemberId,
                Phone = evt.Ids.Phone,
                UnionId = evt.Ids.UnionId,
                OpenId = evt.Ids.OpenId,
                ExternalUserId = evt.Ids.ExternalUserId,
                AppUserId = evt.Ids.AppUserId,
                DeviceId = evt.Ids.DeviceId,
            },
        };
        switch (evt)
        {
            case OrderPlaced o:
                (w.OrderId, w.Amount, w.Items, w.Payment) = (o.OrderId, o.Amount, Items(o.Items), PaymentName(o.Payment));
                (w.GuideId, w.CampaignId, w.ShareGroupId) = (o.GuideId, o.CampaignId, o.ShareGroupId);
                break;
            case OrderRefunded r:
                (w.OrderId, w.Amount) = (r.OrderId, r.Amount);
                break;
            case PageViewed p:
                w.Page = p.Page;
                break;
            case CouponClaimed c:
                (w.CouponId, w.CampaignId) = (c.CouponId, c.CampaignId);
                break;
            case ContactAdded a:
                w.GuideId = a.GuideId;
                break;
            case ContactRemoved r:
                w.GuideId = r.GuideId;
                break;
            case GroupJoined j:
                w.GroupId = j.GroupId;
                break;
            case GroupLeft l:
                w.GroupId = l.GroupId;
                break;
            case GroupMessagePosted m:
                w.GroupId = m.GroupId;
                break;
            case SolitaireJoined s:
                (w.GroupId, w.CampaignId, w.Items) = (s.GroupId, s.CampaignId, Items(s.Items));
                break;
            case FlashClaimed f:
                (w.GroupId, w.CampaignId, w.Sku) = (f.GroupId, f.CampaignId, f.Sku);
                break;
            case Tagged t:
                w.Tags = t.Tags.ToDictionary(kv => kv.Key, kv => JsonSerializer.SerializeToElement(kv.Value, SiyuJsonContext.Default.String));
                break;
            case ProfileUpdated u:
                (w.Birthday, w.Name) = (u.Birthday?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), u.Name);
                break;
            case ServiceDone d:
                (w.GuideId, w.Task) = (d.GuideId, d.Task);
                break;
            case MessageSent m:
                w.GuideId = m.GuideId;
                break;
        }
        return w;
    }

    public static string PaymentName(Payment payment) => payment switch
    {
        Payment.Cash => "cash",
        Payment.Card => "card",
        Payment.WechatPay => "wechat_pay",
        Payment.WecomCollect => "wecom_collect",
        _ => throw new ArgumentOutOfRangeException(nameof(payment), payment, null),
    };

    private static List<WireItem> Items(IReadOnlyList<LineItem> items) =>
        items.Select(i => new WireItem { Sku = i.Sku, Qty = i.Qty, Price = i.Price }).ToList();
}
