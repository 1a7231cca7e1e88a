using Siyu.Contracts.Events;

namespace Siyu.Contracts;

/// <summary>Topic names from the contract, with the configurable prefix (default "siyu.").</summary>
public sealed record Topics(string Prefix = "siyu.")
{
    public string Input(Channel channel) => Prefix + channel.WireName();
    public IReadOnlyList<string> Inputs => Enum.GetValues<Channel>().Select(Input).ToArray();
    public string Campaigns => Prefix + "campaigns";
    public string Profiles => Prefix + "profiles";
    public string ProfileChanges => Prefix + "profile-changes";
    public string Audiences => Prefix + "audiences";
    public string DeadLetter => Prefix + "deadletter";

    /// <summary>Every topic Siyu reads or writes (the embedded broker creates these).</summary>
    public IReadOnlyList<string> All => [.. Inputs, Campaigns, Profiles, ProfileChanges, Audiences, DeadLetter];

    /// <summary>The channel whose events arrive on <paramref name="topic"/>, if it is an input topic.</summary>
    public bool TryGetChannel(string topic, out Channel channel)
    {
        if (topic.StartsWith(Prefix, StringComparison.Ordinal)
            && ChannelNames.TryParse(topic[Prefix.Length..], out channel))
        {
            return true;
        }
        channel = default;
        return false;
    }
}
