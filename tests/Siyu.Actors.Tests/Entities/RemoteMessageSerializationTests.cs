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
        return new TheoryData<string, object>
        {
            { "ObserveEvent(order)", new ObserveEvent("C-1", Ev.Order("O1", 10.5m, T0, guideId: "G1", campaignId: "F1", payment: Payment.WecomCollect)) },
            { "ObserveEvent(refund)", new ObserveEvent("C-1", Ev.Refund("O1", 1m, T0)) },
            { "ObserveEvent(tag)", new ObserveEvent("C-1", Ev.Tag(T0, ("宝宝月龄", "0-6"))) },
            { "EventAccepted", new EventAccepted("C-1", "e-1", []) },
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
            { "ClaimId", new ClaimId("member_id:M1", "C-1") },
            { "RepointId", new RepointId("member_id:M1", "C-1", "C-0") },
            { "ReleaseId", new ReleaseId("member_id:M1", "C-1") },
            { "LookupId", new LookupId("member_id:M1") },
            { "IdOwner", new IdOwner("member_id:M1", "C-1") },
            { "IdReleased", new IdReleased("member_id:M1") },
            { "WakeCustomer", new WakeCustomer("C-1", T0) },
            { "CustomerWoken", new CustomerWoken("C-1", T0) },
            { "ScheduleWake", new ScheduleWake(3, "C-1", T0) },
            { "WakeScheduled", new WakeScheduled("C-1", T0) },
            { "CancelWakes", new CancelWakes(3, "C-1") },
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
