using System.Globalization;

namespace Siyu.Simulator;

/// <summary>Purchase frequency of a customer (contract: segment.frequency low|mid|high).</summary>
public enum Tier
{
    Low,
    Mid,
    High,
}

/// <summary>A store with its WeCom groups (3-4) and guides (2-4).</summary>
public sealed record Store(int Index, string StoreId, IReadOnlyList<string> GroupIds, IReadOnlyList<string> GuideIds);

/// <summary>
/// One simulated person and every id they can be known by. Each channel knows them by its own
/// ids first; the linking events (app login, phone bound in the mini-program, WeCom contact
/// added at the till) are what join those ids into one customer. The mutable part is the
/// simulation's state of the person; read it after the enumeration to know what was linked.
/// </summary>
public sealed class Person
{
    internal Person(int index, Store store, Tier tier, string memberId, string phone, bool miniProgram, bool app)
    {
        Index = index;
        Store = store;
        Tier = tier;
        MemberId = memberId;
        Phone = phone;
        var n = index.ToString("D7", CultureInfo.InvariantCulture);
        ExternalUserId = "wm" + n;
        if (miniProgram)
        {
            OpenId = "oMP" + n;
            UnionId = "uWX" + n;
        }
        if (app)
        {
            DeviceId = "dev-" + n;
            AppUserId = "A" + n;
        }
    }

    public int Index { get; }
    public Store Store { get; }
    public Tier Tier { get; }

    // --- ids (null: the person does not use that channel) ---
    public string MemberId { get; }
    public string Phone { get; }
    public string? OpenId { get; }
    public string? UnionId { get; }
    public string ExternalUserId { get; }
    public string? DeviceId { get; }
    public string? AppUserId { get; }

    public bool UsesMiniProgram => OpenId is not null;
    public bool UsesApp => DeviceId is not null;

    // --- state, as the simulation has played it so far ---
    /// <summary>The guide whose WeCom contact the person is, if any.</summary>
    public string? Guide { get; internal set; }

    /// <summary>The WeCom group the person is in, if any.</summary>
    public string? Group { get; internal set; }

    /// <summary>The WeCom contact was added at the till, so it carries the member id (or the initial sync said so).</summary>
    public bool ContactLinkedToMember { get; internal set; }

    /// <summary>Bound the phone in the mini-program (links openid/unionid to the member's phone).</summary>
    public bool PhoneBound { get; internal set; }

    /// <summary>Logged in to the app (links app_user_id and device_id to the member id).</summary>
    public bool LoggedIn { get; internal set; }

    /// <summary>Whether a WeCom event of this person has been emitted (group events carry unionid beside external_userid).</summary>
    public bool SeenInWeCom { get; internal set; }

    public bool InPrivateDomain => Guide is not null || Group is not null;
}

/// <summary>The chain: stores, their groups and guides, and the people who shop there.</summary>
public sealed class Population
{
    private Population(IReadOnlyList<Store> stores, IReadOnlyList<Person> people)
    {
        Stores = stores;
        People = people;
    }

    public IReadOnlyList<Store> Stores { get; }
    public IReadOnlyList<Person> People { get; }

    /// <summary>Designed share of each tier (domain: most customers are occasional; a few buy every few days).</summary>
    public static IReadOnlyDictionary<Tier, double> TierMix { get; } = new Dictionary<Tier, double>
    {
        [Tier.Low] = 0.55,
        [Tier.Mid] = 0.30,
        [Tier.High] = 0.15,
    };

    internal static Population Create(SimulationOptions options, Random rng)
    {
        var stores = new List<Store>(options.Stores);
        for (var s = 0; s < options.Stores; s++)
        {
            var storeId = "S" + (s + 1).ToString("D4", CultureInfo.InvariantCulture);
            var groups = Enumerable.Range(1, rng.Next(3, 5)).Select(g => $"GR-{storeId}-{g}").ToArray();
            var guides = Enumerable.Range(1, rng.Next(2, 5)).Select(g => $"G-{storeId}-{g}").ToArray();
            stores.Add(new Store(s, storeId, groups, guides));
        }
        var people = new List<Person>(options.Stores * options.CustomersPerStore);
        foreach (var store in stores)
        {
            for (var c = 0; c < options.CustomersPerStore; c++)
            {
                var index = people.Count + 1;
                var roll = rng.NextDouble();
                var tier = roll < TierMix[Tier.High] ? Tier.High : roll < TierMix[Tier.High] + TierMix[Tier.Mid] ? Tier.Mid : Tier.Low;
                var miniProgram = rng.NextDouble() < tier switch { Tier.High => 0.85, Tier.Mid => 0.7, _ => 0.5 };
                var app = rng.NextDouble() < 0.25;
                // 7919 is prime to 10^9, so every index gets its own 11-digit mobile number.
                var phone = "13" + ((index * 7919L + 12345) % 1_000_000_000).ToString("D9", CultureInfo.InvariantCulture);
                var person = new Person(index, store, tier, "M" + index.ToString("D8", CultureInfo.InvariantCulture), phone, miniProgram, app);
                // Relationships that exist before the simulation starts (sent as the initial sync).
                if (rng.NextDouble() < tier switch { Tier.High => 0.55, Tier.Mid => 0.35, _ => 0.15 })
                {
                    person.Guide = store.GuideIds[rng.Next(store.GuideIds.Count)];
                    person.ContactLinkedToMember = rng.NextDouble() < 0.6;
                    if (rng.NextDouble() < 0.75)
                    {
                        person.Group = store.GroupIds[rng.Next(store.GroupIds.Count)];
                    }
                }
                people.Add(person);
            }
        }
        return new Population(stores, people);
    }
}
