using Siyu.Actors.Campaigns;
using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Simulator;

// The daily routine of the chain (domain: fruit chain 百果园).
public sealed partial class TrafficSimulator
{
    /// <summary>
    /// Relationships that existed before the simulation: the brand's WeCom contacts and group
    /// members, synced once when the stream starts (their occurred_at is in the past).
    /// </summary>
    private void InitialSync()
    {
        var day = new Day(-1, _options);
        var start = _options.DayStart(0);
        var spread = TimeSpan.FromMinutes(30);
        var people = Population.People.Where(p => p.Guide is not null || p.Group is not null).ToList();
        for (var i = 0; i < people.Count; i++)
        {
            var p = people[i];
            var deliver = start + (spread * i / Math.Max(1, people.Count));
            var added = start - TimeSpan.FromDays(day.Uniform(1, 180));
            var ids = WeComIds(p);
            if (p.ContactLinkedToMember)
            {
                ids = ids with { MemberId = p.MemberId };
            }
            if (p.Guide is not null)
            {
                Push(Sync(day, deliver, added, p, ids, new ContactAdded { GuideId = p.Guide }));
            }
            if (p.Group is not null)
            {
                // Groups come in a second pass after the contacts, as a WeCom export lists them:
                // a person's two sync events are then not handled at the same moment.
                Push(Sync(day, deliver + spread, added + TimeSpan.FromDays(day.Uniform(0, 1)), p, WeComIds(p), new GroupJoined { GroupId = p.Group }));
            }
            p.SeenInWeCom = true;
        }
    }

    private SimulatedMessage Sync(Day day, DateTimeOffset deliver, DateTimeOffset occurred, Person p, CustomerIds ids, InputEvent evt)
    {
        var full = evt with { EventId = NextEventId(Channel.Group, p.Store), OccurredAt = Ms(occurred), Channel = Channel.Group, StoreId = p.Store.StoreId, Ids = ids };
        day.ValidEvents++;
        return new SimulatedMessage(_topics.Input(Channel.Group), Key(Channel.Group, ids), Contracts.Json.EventWriter.ToUtf8Json(full), Ms(deliver), MessageKind.Event, Channel.Group, Late: true, Sync: true);
    }

    private void PlanDay(int index)
    {
        var day = new Day(index, _options);
        var publishAt = day.Start + TimeSpan.FromHours(6);
        if (day.IsCouponDay)
        {
            day.CouponCampaignId = $"COUPON-{Date(day.Date)}";
            PublishCampaign(new Campaign
            {
                CampaignId = day.CouponCampaignId,
                Type = CampaignType.CouponDay,
                Name = "国民水果节 group-only coupon day",
                StartsAt = day.Start,
                EndsAt = day.Start.AddDays(1).AddMilliseconds(-1),
            }, publishAt);
        }
        var groupMembers = Population.People.Where(p => p.Group is not null).GroupBy(p => p.Store.StoreId).ToDictionary(g => g.Key, g => g.Count());
        foreach (var store in Population.Stores)
        {
            var solitaire = day.Pick(Catalog.Hot);
            var flash = day.Pick(Catalog.Hot.Where(p => p != solitaire).ToList());
            var flashStart = day.Start + TimeSpan.FromHours(15) + TimeSpan.FromMinutes(30 * day.Rng.Next(0, 10));
            var members = groupMembers.GetValueOrDefault(store.StoreId);
            var sd = new StoreDay(
                day.Pick(Catalog.Products.Where(p => !p.Hot).ToList()),
                $"SOL-{Date(day.Date)}-{store.StoreId}",
                solitaire,
                $"FLASH-{Date(day.Date)}-{store.StoreId}",
                flash,
                Math.Round(flash.Price * 0.5m, 0) - 0.1m,
                // Limited stock, a bit more on the coupon day: sells out when enough members claim.
                Math.Max(3, (int)Math.Round(members * day.Uniform(0.05, 0.09) * day.Boost)),
                flashStart,
                flashStart + TimeSpan.FromMinutes(20));
            day.Stores[store.StoreId] = sd;
            PublishCampaign(new Campaign
            {
                CampaignId = sd.SolitaireId,
                Type = CampaignType.Solitaire,
                Name = $"接龙 {solitaire.Name} ¥{solitaire.GroupPrice}",
                StoreId = store.StoreId,
                GroupIds = store.GroupIds.Order(StringComparer.Ordinal).ToEquatableArray(),
                Skus = EquatableArray.Create([solitaire.Sku]),
                StartsAt = day.Start + TimeSpan.FromHours(14),
                EndsAt = day.Start + TimeSpan.FromHours(17),
            }, publishAt);
            PublishCampaign(new Campaign
            {
                CampaignId = sd.FlashId,
                Type = CampaignType.FlashSale,
                Name = $"秒杀 {flash.Name} ¥{sd.FlashPrice}",
                StoreId = store.StoreId,
                GroupIds = store.GroupIds.Order(StringComparer.Ordinal).ToEquatableArray(),
                Skus = EquatableArray.Create([flash.Sku]),
                Stock = sd.FlashStock,
                StartsAt = sd.FlashStart,
                EndsAt = sd.FlashEnd,
            }, publishAt);
        }

        foreach (var p in Population.People)
        {
            PlanPerson(day, p);
        }
        foreach (var store in Population.Stores)
        {
            SettleFlashSale(day, store, day.Stores[store.StoreId]);
        }
        AddBrokenMessages(day);
    }

    private void PlanPerson(Day day, Person p)
    {
        var store = p.Store;
        var sd = day.Stores[store.StoreId];

        // Morning: guides post the new arrivals; members answer and look at the item.
        if (p.Group is not null)
        {
            if (day.Chance(0.25))
            {
                EmitWeCom(day, day.Between(7.5, 10.5), p, new GroupMessagePosted { GroupId = p.Group });
            }
            if (p.UsesMiniProgram && day.Chance(0.3))
            {
                Emit(day, day.Between(7.6, 11), Channel.MiniProgram, store, MiniProgramIds(p), new PageViewed { Page = "/item/" + sd.NewArrival.Sku });
            }
        }

        // The coupon day: a group-only coupon for contacts and members, and new contacts by QR code.
        var couponClaimed = false;
        if (day.IsCouponDay && p.UsesMiniProgram)
        {
            if (p.InPrivateDomain && day.Chance(0.6))
            {
                couponClaimed = true;
                Emit(day, day.Between(8, 12), Channel.MiniProgram, store, MiniProgramIds(p),
                    new CouponClaimed { CouponId = $"CD-{Date(day.Date)}-5OFF", CampaignId = day.CouponCampaignId });
            }
            else if (!p.InPrivateDomain && day.Chance(0.04))
            {
                JoinPrivateDomain(day, p, day.Between(9, 21), atTill: false);
            }
        }

        // Browsing: a few pages in one visit.
        if (p.UsesMiniProgram && day.Chance(0.45))
        {
            var at = MiniProgramTime(day);
            foreach (var page in new[] { "/home", "/category/fruit", "/item/" + day.Pick(Catalog.Products).Sku }.Take(day.Rng.Next(1, 4)))
            {
                Emit(day, at, Channel.MiniProgram, store, MiniProgramIds(p), new PageViewed { Page = page });
                at += TimeSpan.FromSeconds(day.Uniform(5, 90));
            }
        }
        if (p.UsesApp && day.Chance(0.2))
        {
            var at = day.Between(8, 23);
            Emit(day, at, Channel.App, store, AppIds(p), new AppOpened());
            if (!p.LoggedIn && day.Chance(0.4))
            {
                LogIn(day, p, at + TimeSpan.FromMinutes(1));
            }
        }

        // Everyday shopping, by tier.
        if (day.Chance(BaseOrderChance(p.Tier) * day.Boost))
        {
            Purchase(day, p, couponClaimed);
        }

        // Group chatter through the day.
        for (var i = p.Group is null ? 0 : day.Rng.Next(0, 3); i > 0; i--)
        {
            EmitWeCom(day, day.Between(11, 22), p, new GroupMessagePosted { GroupId = p.Group! });
        }

        // Afternoon solitaire: members reply in the chain to reserve, then order in the mini-program.
        if (p.Group is not null && day.Chance(SolitaireChance(p.Tier) * day.Boost))
        {
            var joinAt = day.Start + TimeSpan.FromHours(14) + day.Exponential(TimeSpan.FromMinutes(40), TimeSpan.FromMinutes(179));
            var qty = day.Rng.Next(1, 3);
            EmitWeCom(day, joinAt, p, new SolitaireJoined
            {
                GroupId = p.Group, CampaignId = sd.SolitaireId, Items = [new LineItem(sd.Solitaire.Sku, qty, sd.Solitaire.GroupPrice)],
            });
            if (day.Chance(0.85))
            {
                var items = new List<LineItem> { new(sd.Solitaire.Sku, qty, sd.Solitaire.GroupPrice) };
                if (day.Chance(0.3))
                {
                    var extra = day.Pick(Catalog.Products.Where(x => !x.Hot).ToList());
                    items.Add(new LineItem(extra.Sku, 1, extra.Price));
                }
                if (p.UsesMiniProgram)
                {
                    Order(day, p, Channel.MiniProgram, joinAt + TimeSpan.FromMinutes(day.Uniform(10, 120)), items, Payment.WechatPay, null, null, p.Group);
                }
                else
                {
                    // Picked up in the store in the evening.
                    Order(day, p, Channel.Pos, day.Between(17, 20.5), items, Payment.WechatPay, p.Guide, null, null);
                }
            }
        }

        // Flash sale: members who use the mini-program try to claim; stock decides later.
        if (p.Group is not null && p.UsesMiniProgram && day.Chance(FlashChance(p.Tier) * day.Boost))
        {
            sd.FlashClaims.Add((sd.FlashStart + day.Exponential(TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(19)), p));
        }

        // Guides look after their contacts, without bombarding them.
        if (p.Guide is { } guide)
        {
            if (day.Chance(0.04))
            {
                EmitWeCom(day, day.Between(9, 21), p, new MessageSent { GuideId = guide });
            }
            if (day.Chance(0.01))
            {
                EmitWeCom(day, day.Between(9, 21), p, new Tagged
                {
                    Tags = new Dictionary<string, string> { ["fruit_pref"] = day.Pick(Catalog.Products).Sku, ["household"] = day.Chance(0.5) ? "family" : "single" },
                });
            }
            if (day.Chance(0.004))
            {
                EmitWeCom(day, day.Between(9, 21), p, new ProfileUpdated { Birthday = new DateOnly(1960 + (p.Index % 45), 1 + (p.Index % 12), 1 + (p.Index % 28)) });
            }
            if (day.Chance(0.002))
            {
                EmitWeCom(day, day.Between(9, 22), p, new ContactRemoved { GuideId = guide });
                p.Guide = null;
            }
        }
        if (p.Group is { } group && day.Chance(0.002))
        {
            EmitWeCom(day, day.Between(9, 22), p, new GroupLeft { GroupId = group });
            p.Group = null;
        }
    }

    private static double BaseOrderChance(Tier tier) => tier switch { Tier.High => 0.35, Tier.Mid => 0.065, _ => 0.012 };

    private static double SolitaireChance(Tier tier) => tier switch { Tier.High => 0.35, Tier.Mid => 0.12, _ => 0.08 };

    private static double FlashChance(Tier tier) => tier switch { Tier.High => 0.35, Tier.Mid => 0.15, _ => 0.08 };

    private static DateTimeOffset MiniProgramTime(Day day) => day.Chance(0.5) ? day.Between(11.5, 13.5) : day.Between(19.5, 22.5);

    private void Purchase(Day day, Person p, bool couponClaimed)
    {
        var items = new List<LineItem>();
        foreach (var product in Catalog.Products.OrderBy(_ => day.Rng.Next()).Take(day.Rng.Next(1, 4)))
        {
            items.Add(new LineItem(product.Sku, day.Rng.Next(1, 4), product.Price));
        }
        var roll = day.Rng.NextDouble();
        if (p.UsesMiniProgram && roll < 0.35)
        {
            Order(day, p, Channel.MiniProgram, MiniProgramTime(day), items, Payment.WechatPay, null, couponClaimed ? day.CouponCampaignId : null,
                p.Group is not null && day.Chance(0.3) ? p.Group : null);
            return;
        }
        if (p.UsesApp && roll > 0.88)
        {
            Order(day, p, Channel.App, day.Between(9, 22.5), items, Payment.WechatPay, null, null, null);
            return;
        }
        // A store visit: peaks before lunch and after work.
        var at = day.Chance(0.55) ? day.Between(9.5, 12.5) : day.Between(16.5, 20.5);
        string? guide;
        Payment payment;
        if (p.Guide is not null && day.Chance(0.3))
        {
            // Paid through the guide's WeCom (对外收款): the sale is credited to that guide.
            (payment, guide) = (Payment.WecomCollect, p.Guide);
        }
        else
        {
            var r = day.Rng.NextDouble();
            payment = r < 0.6 ? Payment.WechatPay : r < 0.8 ? Payment.Card : Payment.Cash;
            guide = day.Chance(0.5) ? day.Pick(p.Store.GuideIds) : null;
        }
        Order(day, p, Channel.Pos, at, items, payment, guide, null, null);
        // The POS lookup says "not in a group yet, invite them"; some accept, more on the coupon day.
        if (!p.InPrivateDomain && day.Chance(day.IsCouponDay ? 0.6 : 0.25))
        {
            JoinPrivateDomain(day, p, at + TimeSpan.FromMinutes(day.Uniform(1, 3)), atTill: true);
        }
    }

    private void Order(Day day, Person p, Channel channel, DateTimeOffset at, IReadOnlyList<LineItem> items, Payment payment,
        string? guide, string? campaignId, string? shareGroup)
    {
        var ids = channel switch
        {
            Channel.MiniProgram => MiniProgramIds(p),
            Channel.App => AppIds(p),
            _ => PosIds(p),
        };
        if (channel == Channel.MiniProgram && !p.PhoneBound)
        {
            // Delivery needs a phone: the first mini-program order binds it.
            p.PhoneBound = true;
            Emit(day, at - TimeSpan.FromMinutes(day.Uniform(1, 4)), Channel.MiniProgram, p.Store, MiniProgramIds(p) with { Phone = p.Phone }, new PhoneBound());
        }
        if (channel == Channel.App && !p.LoggedIn)
        {
            LogIn(day, p, at - TimeSpan.FromMinutes(day.Uniform(2, 5)));
            ids = AppIds(p);
        }
        var amount = items.Sum(i => i.Qty * i.Price);
        var orderId = NextOrderId(day, p.Store);
        var delivered = Emit(day, at, channel, p.Store, ids, new OrderPlaced
        {
            OrderId = orderId, Amount = amount, Items = items, Payment = payment, GuideId = guide, CampaignId = campaignId, ShareGroupId = shareGroup,
        });
        if (day.Chance(0.03))
        {
            // Refunds: the whole order, or one line. Delivered after the order, even when the order is late.
            var refundAt = at + TimeSpan.FromHours(day.Uniform(0.5, 6));
            if (refundAt <= delivered)
            {
                refundAt = delivered + TimeSpan.FromMinutes(1);
            }
            var refund = day.Chance(0.6) ? amount : items[0].Qty * items[0].Price;
            var refundDelivered = Emit(day, refundAt, channel, p.Store, ids, new OrderRefunded { OrderId = orderId, Amount = refund });
            if (refundDelivered <= delivered)
            {
                throw new InvalidOperationException("a refund must never be delivered before its order");
            }
        }
        if (amount >= 150 && p.Guide is { } owner && day.Chance(0.3))
        {
            EmitWeCom(day, at + TimeSpan.FromHours(day.Uniform(2, 6)), p, new ServiceDone { GuideId = owner, Task = "after_sale_call" });
        }
    }

    private void LogIn(Day day, Person p, DateTimeOffset at)
    {
        p.LoggedIn = true;
        Emit(day, at, Channel.App, p.Store, new CustomerIds { AppUserId = p.AppUserId, DeviceId = p.DeviceId, MemberId = p.MemberId }, new LoggedIn());
    }

    /// <summary>A guide adds the customer on WeCom (at the till it carries the member id) and invites them to a group; the first join earns a 5-yuan coupon.</summary>
    private void JoinPrivateDomain(Day day, Person p, DateTimeOffset at, bool atTill)
    {
        var guide = day.Pick(p.Store.GuideIds);
        p.Guide = guide;
        var ids = WeComIds(p);
        if (atTill)
        {
            p.ContactLinkedToMember = true;
            ids = ids with { MemberId = p.MemberId };
        }
        Emit(day, at, Channel.Group, p.Store, ids, new ContactAdded { GuideId = guide });
        p.SeenInWeCom = true;
        if (p.Group is null && day.Chance(0.8))
        {
            var group = day.Pick(p.Store.GroupIds);
            p.Group = group;
            var joinAt = at + TimeSpan.FromMinutes(day.Uniform(2, 10));
            EmitWeCom(day, joinAt, p, new GroupJoined { GroupId = group });
            if (p.UsesMiniProgram)
            {
                Emit(day, joinAt + TimeSpan.FromMinutes(day.Uniform(1, 10)), Channel.MiniProgram, p.Store, MiniProgramIds(p), new CouponClaimed { CouponId = "WELCOME-5" });
            }
        }
    }

    private void EmitWeCom(Day day, DateTimeOffset at, Person p, InputEvent evt)
    {
        p.SeenInWeCom = true;
        Emit(day, at, Channel.Group, p.Store, WeComIds(p), evt);
    }

    /// <summary>Claims in time order; the first <c>stock</c> become orders, the rest find it sold out.</summary>
    private void SettleFlashSale(Day day, Store store, StoreDay sd)
    {
        var sold = 0;
        foreach (var (at, p) in sd.FlashClaims.OrderBy(c => c.At).ThenBy(c => c.Person.Index))
        {
            EmitWeCom(day, at, p, new FlashClaimed { GroupId = p.Group ?? store.GroupIds[0], CampaignId = sd.FlashId, Sku = sd.Flash.Sku });
            if (sold < sd.FlashStock)
            {
                sold++;
                // Most orders come from the campaign's own link (direct); some from the product page (last touch).
                // A claimed unit is paid for before the sale ends (claims stop a minute before), or it is lost.
                var payWithin = Math.Min(12, (sd.FlashEnd - at).TotalMinutes);
                Order(day, p, Channel.MiniProgram, at + TimeSpan.FromMinutes(day.Uniform(payWithin / 12, payWithin)), [new LineItem(sd.Flash.Sku, 1, sd.FlashPrice)],
                    Payment.WechatPay, null, day.Chance(0.7) ? sd.FlashId : null, p.Group);
            }
        }
    }
}
