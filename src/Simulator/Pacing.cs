using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Siyu.Simulator;

/// <summary>
/// Plays messages at a fixed rate in wall-clock time. The simulated clock (each message's
/// <see cref="SimulatedMessage.At"/>) is compressed accordingly: a day of a few tens of
/// thousands of messages plays in about a minute at 500/s. Pacing never changes the content.
/// </summary>
public static class Pacing
{
    /// <summary>Yields <paramref name="messages"/> at <paramref name="perSecond"/> messages/s (0 or less: as fast as the consumer takes them).</summary>
    public static async IAsyncEnumerable<SimulatedMessage> PacedAsync(this IEnumerable<SimulatedMessage> messages, double perSecond,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var clock = Stopwatch.StartNew();
        long sent = 0;
        foreach (var message in messages)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (perSecond > 0)
            {
                // Sleep in ~10 ms steps and release the messages due since: smooth at any rate
                // without a timer per message.
                while (sent >= clock.Elapsed.TotalSeconds * perSecond)
                {
                    await Task.Delay(10, cancellationToken).ConfigureAwait(false);
                }
            }
            sent++;
            yield return message;
        }
    }
}
