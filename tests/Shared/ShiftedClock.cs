namespace Siyu.Tests.Shared;

/// <summary>
/// The real clock moved to a calendar of the test's choosing: it reads <paramref name="start"/>
/// when created and then runs at the real rate, so timers, flush intervals and "due within a
/// week" all behave as in production, on the dates the test's events were written for. A test
/// whose events have fixed dates runs the product on this, never on the real clock (which keeps
/// moving away from those dates). Timers and timestamps (<see cref="TimeProvider.GetTimestamp"/>)
/// stay the real ones.
/// </summary>
public sealed class ShiftedClock(DateTimeOffset start) : TimeProvider
{
    private readonly TimeSpan _shift = start - System.GetUtcNow();

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + _shift;
}
