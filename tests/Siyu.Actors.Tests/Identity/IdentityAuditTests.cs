using Siyu.Actors.Customers;
using Siyu.Actors.Identity;
using Siyu.Contracts.Events;
using Xunit.Abstractions;

namespace Siyu.Actors.Tests.Identity;

/// <summary>
/// Issue 18, item 3: the audit behind `siyu check-identity` names the customers an older node
/// mixed (the rules before weak ids, simulated with device_id strong) and none of a node of
/// this version, whatever the processing order.
/// </summary>
public sealed class IdentityAuditTests(ITestOutputHelper output)
{
    private static readonly CustomerRules Old = CustomerRules.Default with { WeakIdTypes = [] };

    private static InputEvent Login(string member, string app, string device, int n) =>
        new LoggedIn { EventId = $"l{n}", Ids = new CustomerIds { MemberId = member, AppUserId = app, DeviceId = device } };

    private static InputEvent Order(string app, string device, int n) => new OrderPlaced
    {
        EventId = $"o{n}", Ids = new CustomerIds { AppUserId = app, DeviceId = device },
        OrderId = $"O{n}", Amount = 10m, Items = [], Payment = Payment.WechatPay,
    };

    private static IdentityAuditReport Audit(IEnumerable<InputEvent> events, SimulatedIdentity world)
    {
        var audit = new IdentityAudit(CustomerRules.Default);
        foreach (var e in events)
        {
            audit.Add(e.Ids);
        }
        var people = audit.People();
        var customerOf = people.SelectMany(p => p.Ids).ToDictionary(id => id, world.CustomerOf);
        return IdentityAudit.Compare(people, customerOf, world.Held());
    }

    [Fact]
    public void The_issue_s_tablet_order_before_the_login_is_reported_as_one_customer_holding_two_people()
    {
        // The order that arrived early: app user A2 on the tablet member 1 logged in on first.
        InputEvent[] events = [Login("M1", "A1", "TAB", 1), Order("A2", "TAB", 2), Login("M2", "A2", "TAB", 3)];
        var old = new SimulatedIdentity(Old);
        foreach (var e in events)
        {
            old.Process(e);
        }
        var report = Audit(events, old);
        var mixed = Assert.Single(report.Mixed);
        Assert.Equal(old.CustomerOf(new LinkedId(IdType.MemberId, "M1")), mixed.CustomerId);
        Assert.Equal(["member_id=M1 app_user_id=A1", "member_id=M2 app_user_id=A2"],
            mixed.People.Select(p => string.Join(" ", p.Ids.Select(i => $"{i.Type.WireName()}={i.Value}"))));
        // Member 2 is over two customers: their own, and the one holding their app user id.
        var apart = Assert.Single(report.Split);
        Assert.Equal(2, apart.Customers.Count);
        Assert.Equal(2, report.People);

        var now = new SimulatedIdentity(CustomerRules.Default);
        foreach (var e in events)
        {
            now.Process(e);
        }
        var clean = Audit(events, now);
        Assert.Empty(clean.Mixed);
        Assert.Empty(clean.Split);
        Assert.Equal(2, clean.Customers);
    }

    [Fact]
    public void Weak_ids_and_blocked_values_link_no_one_in_the_audit_either()
    {
        var audit = new IdentityAudit(CustomerRules.Default);
        audit.Add(new CustomerIds { MemberId = "M1", DeviceId = "TAB" });
        audit.Add(new CustomerIds { MemberId = "M2", DeviceId = "TAB" });
        audit.Add(new CustomerIds { MemberId = "M3", UnionId = "undefined" });
        audit.Add(new CustomerIds { MemberId = "M4", UnionId = "undefined" });
        audit.Add(new CustomerIds { DeviceId = "TAB" });
        audit.Add(new CustomerIds { OpenId = "O1", UnionId = "U1" });
        audit.Add(new CustomerIds { UnionId = "U1", MemberId = "M1" });
        var people = audit.People();
        Assert.Equal(4, people.Count);
        Assert.Equal(6, audit.Events);
        Assert.Equal(["member_id=M1 unionid=U1 openid=O1", "member_id=M2", "member_id=M3", "member_id=M4"],
            people.Select(p => string.Join(" ", p.Ids.Select(i => $"{i.Type.WireName()}={i.Value}"))));
    }

    [Fact]
    public void Generated_populations_are_clean_in_every_order_now_and_mixed_in_some_orders_under_the_old_rule()
    {
        var population = IdentityPopulation.Generate(11, people: 40, stores: 3);
        var rng = new Random(18);
        var oldMixed = 0;
        var oldRunsMixed = 0;
        for (var run = 0; run < 50; run++)
        {
            var events = population.Events.ToArray();
            rng.Shuffle(events);
            var now = new SimulatedIdentity(CustomerRules.Default);
            var old = new SimulatedIdentity(Old);
            foreach (var e in events)
            {
                now.Process(e);
                old.Process(e);
            }
            var clean = Audit(events, now);
            Assert.True(clean.Mixed.Count == 0, $"order {run}: {clean.Mixed.Count} mixed customers under this version's rules");
            Assert.Empty(clean.Split);
            var report = Audit(events, old);
            // Every customer the old rules got wrong is found: whenever the outcome differs
            // from the truth by a customer holding two people's ids, the audit names it.
            var wrong = population.Mismatches(old.Outcome()).Any(m => m.StartsWith("unexpected", StringComparison.Ordinal));
            Assert.True(!wrong || report.Mixed.Count > 0, $"order {run}: the old rules mixed customers and the audit saw none");
            oldMixed += report.Mixed.Count;
            oldRunsMixed += report.Mixed.Count > 0 ? 1 : 0;
        }
        output.WriteLine($"50 orders: the old rules mixed customers in {oldRunsMixed} ({oldMixed} customers); this version's in none");
        Assert.True(oldRunsMixed > 0, "the old rules never mixed anyone: the test shows nothing");
    }
}
