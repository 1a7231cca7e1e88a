namespace Siyu.Tests.Shared;

/// <summary>Waiting for a pipeline to converge on the truth: findings are mismatch descriptions, none means equal.</summary>
public static class Mismatches
{
    /// <summary>Polls until <paramref name="probe"/> finds nothing wrong or the time is up; returns the last findings.</summary>
    public static async Task<List<string>> Eventually(Func<Task<List<string>>> probe, int seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        var last = await probe();
        while (last.Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            last = await probe();
        }
        return last;
    }
}
