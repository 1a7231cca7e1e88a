namespace Siyu.Contracts.Events;

/// <summary>The four input channels; each has its own topic (see Topics).</summary>
public enum Channel
{
    Pos,
    MiniProgram,
    App,
    Group,
}

public static class ChannelNames
{
    /// <summary>The topic suffix and the wire name of the channel (contract: siyu.pos, siyu.miniprogram...).</summary>
    public static string WireName(this Channel channel) => channel switch
    {
        Channel.Pos => "pos",
        Channel.MiniProgram => "miniprogram",
        Channel.App => "app",
        Channel.Group => "group",
        _ => throw new ArgumentOutOfRangeException(nameof(channel), channel, null),
    };

    public static bool TryParse(string wireName, out Channel channel)
    {
        foreach (var c in Enum.GetValues<Channel>())
        {
            if (c.WireName() == wireName)
            {
                channel = c;
                return true;
            }
        }
        channel = default;
        return false;
    }
}
