using Akka.Actor;
using Akka.Configuration;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Identity;
using Siyu.Actors.Operations;
using Siyu.Actors.Tests.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Entities;

/// <summary>
/// Messages that cross nodes go through Akka's serializer (the default one: the node binds no
/// other). Each must come back as it left: EquatableArray once had no constructor that serializer
/// could use, so on two nodes every message holding ids was dropped and its sender timed out
/// (found by the two-node cluster test). One entry per message type that can be sent remotely.
/// </summary>
public sealed class RemoteMessageSerializationTests : IDisposable
{
    private static readonly DateTimeOffset T0 = Ev.T0;
    private readonly ActorSystem _system = ActorSystem.Create("serialization", ConfigurationFactory.Empty);

    public static TheoryData<string, object> Messages()
    {
        var ids = new[] { new LinkedId(IdType.MemberId, "M1"), new LinkedId(IdType.Phone, Ev.PhoneHash(1)) }.ToEquatableArray();
        var state = new Customer("C-1").ObserveAll(
            Ev.Order("O1", 10.5m, T0, ids: new CustomerIds { MemberId = "M1", OpenId = "o1" }),
            Ev.Join("GR1", T0), Ev.Tag(T0, ("size", "42"))).State;
        var key = IdKeys.Of(IdType.MemberId, "M1");
        return new TheoryData<string, object>
        {
            { "CustomerBatch(order)", new CustomerBatch(3, ActorRefs.Nobody, new List<BatchItem> { new(7, "C-1", Ev.Order("O1", 10.5m, T0, guideId: "G1", campaignId: "F1", payment: Payment.WecomCollect), false) }) },
            { "CustomerBatch(refund, tag)", new CustomerBatch(3, ActorRefs.Nobody, new List<BatchItem> { new(8, "C-1", Ev.Refund("O1", 1m, T0), true), new(9, "C-1", Ev.Tag(T0, ("宝宝月龄", "0-6")), false) }) },
            { "EventOutcome", new EventOutcome(7, "C-1", OutcomeKind.Rejected, "order_rejected", "order O1: older than retained orders") },
            { "AbsorbCustomer", new AbsorbCustomer("C-0", state) },
            { "CustomerAbsorbedReply", new CustomerAbsorbedReply("C-0", "C-1") },
            { "MergeInto", new MergeInto("C-1", "C-0") },
            { "MergedReply", new MergedReply("C-1", "C-0") },
            { "EraseCustomer", new EraseCustomer("C-1") },
            { "CustomerErased", new CustomerErased("C-1", true) },
            { "GetCustomer", new GetCustomer("C-1") },
            { "CustomerState", state },
            { "GetIdentity", new GetIdentity("C-1") },
            { "CustomerIdentity", new CustomerIdentity("C-1", T0, null, ids) },
            { "IdentityRequest", new IdentityRequest(4, new List<IdOp> { new(IdOpKind.Claim, key, "C-1"), new(IdOpKind.Repoint, key, "C-1", "C-0"), new(IdOpKind.Lookup, key) }) },
            { "IdentityReply", new IdentityReply(new string?[] { "C-1", null }) },
            { "PokeCustomerShard", new PokeCustomerShard(5) },
            { "WakeCustomer", new WakeCustomer("C-1", T0) },
            { "CustomerWoken", new CustomerWoken("C-1", T0) },
        };
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void A_message_crosses_nodes_unchanged(string name, object message)
    {
        var serializer = _system.Serialization.FindSerializerFor(message);
        var bytes = serializer.ToBinary(message);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);

        var back = _system.Serialization.Deserialize(bytes, serializer.Identifier, manifest);

        Assert.Equal(message.GetType(), back.GetType());
        // Value-equal records compare directly; the rest (lists inside) by their serialized form.
        Assert.True(message.Equals(back) || bytes.AsSpan().SequenceEqual(serializer.ToBinary(back)), $"{name} changed on the way");
        Assert.Equal(bytes, serializer.ToBinary(back));
    }

    public void Dispose() => _system.Dispose();
}
