namespace Siyu.Contracts.Events;

/// <summary>The kinds of identifier a customer can be known by, with their wire names.</summary>
public enum IdType
{
    MemberId,
    Phone,
    UnionId,
    OpenId,
    ExternalUserId,
    AppUserId,
    DeviceId,
}

public static class IdTypeNames
{
    public static string WireName(this IdType type) => type switch
    {
        IdType.MemberId => "member_id",
        IdType.Phone => "phone",
        IdType.UnionId => "unionid",
        IdType.OpenId => "openid",
        IdType.ExternalUserId => "external_userid",
        IdType.AppUserId => "app_user_id",
        IdType.DeviceId => "device_id",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static bool TryParse(string wireName, out IdType type)
    {
        foreach (var t in Enum.GetValues<IdType>())
        {
            if (t.WireName() == wireName)
            {
                type = t;
                return true;
            }
        }
        type = default;
        return false;
    }
}

/// <summary>
/// Every id carried by one event. All ids that appear together belong to one customer.
/// After ingest, <see cref="Phone"/> holds the keyed hash, never the raw number.
/// </summary>
public sealed record CustomerIds
{
    public string? MemberId { get; init; }
    public string? Phone { get; init; }
    public string? UnionId { get; init; }
    public string? OpenId { get; init; }
    public string? ExternalUserId { get; init; }
    public string? AppUserId { get; init; }
    public string? DeviceId { get; init; }

    public string? Get(IdType type) => type switch
    {
        IdType.MemberId => MemberId,
        IdType.Phone => Phone,
        IdType.UnionId => UnionId,
        IdType.OpenId => OpenId,
        IdType.ExternalUserId => ExternalUserId,
        IdType.AppUserId => AppUserId,
        IdType.DeviceId => DeviceId,
        _ => null,
    };

    /// <summary>A copy with the id of <paramref name="type"/> replaced (null removes it).</summary>
    public CustomerIds With(IdType type, string? value) => type switch
    {
        IdType.MemberId => this with { MemberId = value },
        IdType.Phone => this with { Phone = value },
        IdType.UnionId => this with { UnionId = value },
        IdType.OpenId => this with { OpenId = value },
        IdType.ExternalUserId => this with { ExternalUserId = value },
        IdType.AppUserId => this with { AppUserId = value },
        IdType.DeviceId => this with { DeviceId = value },
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private static readonly IdType[] Types = Enum.GetValues<IdType>();

    /// <summary>The ids present, in the contract's order (a struct enumerator: foreach allocates nothing, it runs per event).</summary>
    public Present All() => new(this);

    public bool IsEmpty
    {
        get
        {
            foreach (var t in Types)
            {
                if (Get(t) is not null)
                {
                    return false;
                }
            }
            return true;
        }
    }

    /// <summary>The ids present; see <see cref="All"/>.</summary>
    public readonly struct Present(CustomerIds ids) : IEnumerable<(IdType Type, string Value)>
    {
        public Enumerator GetEnumerator() => new(ids);

        IEnumerator<(IdType Type, string Value)> IEnumerable<(IdType Type, string Value)>.GetEnumerator() => GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    public struct Enumerator(CustomerIds ids) : IEnumerator<(IdType Type, string Value)>
    {
        private int _next;

        public (IdType Type, string Value) Current { get; private set; }

        readonly object System.Collections.IEnumerator.Current => Current;

        public bool MoveNext()
        {
            while (_next < Types.Length)
            {
                var t = Types[_next++];
                if (ids.Get(t) is { } v)
                {
                    Current = (t, v);
                    return true;
                }
            }
            return false;
        }

        public void Reset() => _next = 0;

        public readonly void Dispose()
        {
        }
    }
}
