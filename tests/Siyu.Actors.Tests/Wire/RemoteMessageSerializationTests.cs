using System.Reflection;
using System.Runtime.Serialization;
using Akka.Actor;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Identity;
using Siyu.Actors.Operations;
using Siyu.Actors.Wire;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;

namespace Siyu.Actors.Tests.Wire;

/// <summary>
/// Messages that cross nodes go through <see cref="SiyuSerializer"/>, in an actor system configured
/// as a node's. Each comes back as it left; none falls back to Akka's default serializer (which
/// once dropped every message holding ids: found by the two-node cluster test).
/// </summary>
public sealed class RemoteMessageSerializationTests(NodeSystemFixture node) : IClassFixture<NodeSystemFixture>
{
    private Akka.Serialization.Serialization Serialization => node.System.Serialization;

    public static TheoryData<string> Manifests() => new(SiyuSerializer.Manifests.Values.Order(StringComparer.Ordinal));

    /// <summary>Through the system's own serialization, as remoting does it: find the serializer, write, read by id and manifest.</summary>
    private object CrossNodes(object message, out byte[] bytes)
    {
        var serializer = Serialization.FindSerializerFor(message);
        Assert.IsType<SiyuSerializer>(serializer);
        bytes = serializer.ToBinary(message);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        return Serialization.Deserialize(bytes, serializer.Identifier, manifest);
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public void A_message_crosses_nodes_unchanged(string manifest)
    {
        var message = WireSamples.Messages(node.System).Single(s => s.Manifest == manifest).Message;

        var back = CrossNodes(message, out var bytes);

        Assert.Equal(message.GetType(), back.GetType());
        Assert.Equal(Dump.Of(message), Dump.Of(back));
        if (message is not (CustomerBatch or IdentityRequest or IdentityReply))
        {
            Assert.Equal(message, back); // value-equal records (the others hold lists)
        }
        Assert.Equal(bytes, Serialization.FindSerializerFor(back).ToBinary(back));
    }

    [Fact]
    public void Every_input_event_type_crosses_nodes_in_a_batch_with_its_reply_address()
    {
        var types = typeof(InputEvent).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(InputEvent)) && !t.IsAbstract).ToHashSet();
        var events = WireSamples.Events();
        Assert.Equal(types.OrderBy(t => t.Name), events.Select(e => e.GetType()).Distinct().OrderBy(t => t.Name));
        var replies = node.System.ActorOf(Props.Empty, "replies-" + Guid.NewGuid().ToString("N"));
        var batch = new CustomerBatch(3, replies, events.Select((e, i) => new BatchItem(i, "C-" + i, e, i % 2 == 0)).ToList());

        var back = (CustomerBatch)CrossNodes(batch, out _);

        Assert.Equal(replies, back.ReplyTo); // this node's own actor again, not a remote ref to it
        Assert.Equal(batch.Items.Count, back.Items.Count);
        for (var i = 0; i < batch.Items.Count; i++)
        {
            var (sent, got) = (batch.Items[i], back.Items[i]);
            Assert.Equal((sent.Ticket, sent.CustomerId, sent.MaybeSeen), (got.Ticket, got.CustomerId, got.MaybeSeen));
            // Independent of the wire format: the contract's JSON of the event, and its occurred_at with the offset.
            Assert.Equal(EventWriter.ToUtf8Json(sent.Event), EventWriter.ToUtf8Json(got.Event));
            Assert.Equal(sent.Event.OccurredAt.Offset, got.Event.OccurredAt.Offset);
            Assert.Equal(Dump.Of(sent.Event), Dump.Of(got.Event));
        }
    }

    [Fact]
    public void Amounts_keep_their_exact_value_and_scale()
    {
        decimal[] amounts = [0m, 0.00m, 10.50m, 10.5m, -1.25m, 0.01m, 4294967296m, 79228162514264337593543950335m, -79228162514264337593543950335m, 0.0000000000000000000000000001m, 123456789012.3456789m];
        var batch = new CustomerBatch(0, ActorRefs.Nobody, amounts.Select((a, i) => new BatchItem(i, "C-1", new OrderRefunded { OrderId = "O", Amount = a }, false)).ToList());

        var back = (CustomerBatch)CrossNodes(batch, out _);

        Assert.Equal(
            amounts.Select(a => string.Join(",", decimal.GetBits(a))),
            back.Items.Select(i => string.Join(",", decimal.GetBits(((OrderRefunded)i.Event).Amount))));
    }

    /// <summary>
    /// Every type that is a message of the customer or identity regions, or an answer to one, has
    /// a wire format: found by reflection, so a new message cannot be forgotten.
    /// </summary>
    [Fact]
    public void Every_message_type_is_bound_to_the_siyu_serializer()
    {
        var assembly = typeof(CustomerBatch).Assembly;
        var routed = assembly.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false } &&
            (typeof(ICustomerMessage).IsAssignableFrom(t) || typeof(ICustomerShardMessage).IsAssignableFrom(t) || typeof(IIdentityShardMessage).IsAssignableFrom(t)));
        // The public records of the message namespaces: commands, queries and their answers.
        var declared = assembly.GetTypes().Where(t => t is { IsPublic: true, IsClass: true, IsAbstract: false } &&
            t.Namespace is "Siyu.Actors.Customers.Commands" or "Siyu.Actors.Customers.Queries" &&
            t != typeof(BatchItem)); // a part of CustomerBatch, never sent alone
        Type[] answers = [typeof(CustomerState), typeof(CustomerIdentity), typeof(IdentityReply), typeof(CustomerWoken), typeof(StopIdentityShard)];
        var messages = routed.Concat(declared).Concat(answers).Distinct().ToList();

        Assert.All(messages, t => Assert.IsType<SiyuSerializer>(Serialization.FindSerializerForType(t)));
        // ...and the table names nothing else (a stale entry would be a format nobody tests).
        Assert.Equal(messages.Select(t => t.FullName).Order(), SiyuSerializer.Manifests.Keys.Select(t => t.FullName).Order());
        // The decider's commands are not messages: never sent, so not bound.
        Assert.DoesNotContain(typeof(Observe), SiyuSerializer.Manifests.Keys);
        Assert.DoesNotContain(typeof(Tick), SiyuSerializer.Manifests.Keys);
    }

    private sealed record NotAWireMessage(string Text);

    [Fact]
    public void A_type_without_a_wire_format_is_refused_rather_than_sent_as_json_with_type_names()
    {
        Assert.False(node.System.Settings.Config.GetBoolean("akka.actor.serialization-settings.allow-unregistered-types", true));

        var e = Assert.Throws<SerializationException>(() => Serialization.FindSerializerFor(new NotAWireMessage("x")));

        Assert.Contains(nameof(NotAWireMessage), e.Message);
        // Akka's own messages keep their own serializers.
        Assert.IsNotType<SiyuSerializer>(Serialization.FindSerializerFor(new Status.Failure(new InvalidOperationException("x"))));
    }

    [Fact]
    public void Bytes_that_do_not_read_are_a_serialization_exception_naming_the_manifest()
    {
        var serializer = (SiyuSerializer)Serialization.FindSerializerForType(typeof(CustomerBatch));
        var batch = WireSamples.Messages(node.System).Single(s => s.Manifest == "cb1").Message;
        var bytes = serializer.ToBinary(batch);

        // SerializationException is what remoting drops with a log line instead of closing the connection.
        var truncated = Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes[..^3], "cb1"));
        Assert.Contains("'cb1'", truncated.Message);
        Assert.Throws<SerializationException>(() => serializer.FromBinary([.. bytes, 0], "cb1"));
        Assert.Contains("unknown Siyu wire manifest 'cb9'", Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes, "cb9")).Message);
        Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes, "eo1"));
        Assert.Throws<SerializationException>(() => serializer.FromBinary([0xFF, 0xFF, 0xFF], "ir1"));
    }
}
