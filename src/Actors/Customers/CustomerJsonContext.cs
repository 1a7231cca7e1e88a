using System.Text.Json.Serialization;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Customers;

/// <summary>
/// Source-generated JSON (no reflection) for the profile, the change events, the snapshot and
/// the journal events: snake_case names, enums as their names, null members omitted unless a
/// property says otherwise (the profile keeps guide_id, first/last_order_at and service fields
/// as explicit nulls because the contract lists them).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(CustomerProfile))]
[JsonSerializable(typeof(ProfileChange))]
[JsonSerializable(typeof(Siyu.Actors.Operations.AudienceMessage))]
[JsonSerializable(typeof(CustomerSnapshot.Envelope))]
[JsonSerializable(typeof(CustomerEvent))]
// element arrays read and written by EquatableArrayJsonConverter<T>
[JsonSerializable(typeof(LinkedId[]))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(Membership[]))]
[JsonSerializable(typeof(MembershipChange[]))]
[JsonSerializable(typeof(ProfileChange[]))]
[JsonSerializable(typeof(TagValue[]))]
[JsonSerializable(typeof(RecentOrder[]))]
[JsonSerializable(typeof(RefundEntry[]))]
[JsonSerializable(typeof(SeenEvent[]))]
[JsonSerializable(typeof(RecentTouch[]))]
[JsonSerializable(typeof(LineItem[]))]
[JsonSerializable(typeof(Siyu.Actors.Operations.ServiceTask[]))]
[JsonSerializable(typeof(Siyu.Actors.Operations.OperationsNotice[]))]
[JsonSerializable(typeof(DateTime[]))]
internal sealed partial class CustomerJsonContext : JsonSerializerContext;
