using System.Text;
using System.Text.Json;

namespace Siyu.Deploy.Tests.Support;

internal sealed record Instruction(string Keyword, string Arguments, int Stage, int Line)
{
    /// <summary>Arguments of the JSON (exec) form, e.g. ENTRYPOINT ["dotnet", "/app/siyu.dll"].</summary>
    public IReadOnlyList<string> ExecForm
    {
        get
        {
            var text = Arguments.Trim();
            Assert.True(text.StartsWith('['), $"line {Line}: {Keyword} should use the exec (JSON array) form, not '{text}'");
            return JsonSerializer.Deserialize<string[]>(text) ?? [];
        }
    }

    /// <summary>Leading --flag=value options (COPY --from=build, HEALTHCHECK --interval=10s).</summary>
    public IReadOnlyDictionary<string, string> Flags
    {
        get
        {
            var flags = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var token in Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!token.StartsWith("--", StringComparison.Ordinal))
                {
                    break;
                }

                var eq = token.IndexOf('=', StringComparison.Ordinal);
                flags[eq < 0 ? token[2..] : token[2..eq]] = eq < 0 ? string.Empty : token[(eq + 1)..];
            }

            return flags;
        }
    }

    /// <summary>Arguments with the leading --flags removed.</summary>
    public string WithoutFlags => string.Join(' ',
        Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipWhile(t => t.StartsWith("--", StringComparison.Ordinal)));
}

internal sealed record Stage(int Index, string Image, string? Alias);

/// <summary>The repo's Dockerfile: instructions with line continuations joined and comments dropped.</summary>
internal sealed class DockerfileModel
{
    public const string FileName = "Dockerfile";

    private DockerfileModel(IReadOnlyList<Instruction> instructions, IReadOnlyList<Stage> stages)
    {
        Instructions = instructions;
        Stages = stages;
    }

    public IReadOnlyList<Instruction> Instructions { get; }

    public IReadOnlyList<Stage> Stages { get; }

    public Stage FinalStage => Stages[^1];

    public IEnumerable<Instruction> In(Stage stage, string keyword) =>
        Instructions.Where(i => i.Stage == stage.Index && i.Keyword == keyword);

    public Stage StageNamed(string alias)
    {
        var stage = Stages.FirstOrDefault(s => string.Equals(s.Alias, alias, StringComparison.OrdinalIgnoreCase));
        Assert.True(stage is not null, $"{FileName} has no stage 'AS {alias}'");
        return stage!;
    }

    public static DockerfileModel Load() => Parse(Repo.Read(FileName));

    public static DockerfileModel Parse(string text)
    {
        var instructions = new List<Instruction>();
        var stages = new List<Stage>();
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var current = new StringBuilder();
        var startLine = 0;
        for (var n = 0; n < lines.Length; n++)
        {
            var line = lines[n];
            var trimmed = line.Trim();
            if (trimmed.StartsWith('#') || (current.Length == 0 && trimmed.Length == 0))
            {
                continue;
            }

            if (current.Length == 0)
            {
                startLine = n + 1;
            }

            var continues = trimmed.EndsWith('\\');
            current.Append(continues ? trimmed[..^1] : trimmed).Append(' ');
            if (continues)
            {
                continue;
            }

            var full = current.ToString().Trim();
            current.Clear();
            var space = full.IndexOf(' ', StringComparison.Ordinal);
            var keyword = (space < 0 ? full : full[..space]).ToUpperInvariant();
            var args = space < 0 ? string.Empty : full[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                var parts = args.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    .Where(p => !p.StartsWith("--", StringComparison.Ordinal)).ToArray();
                var alias = parts.Length >= 3 && parts[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? parts[2] : null;
                stages.Add(new Stage(stages.Count, parts[0], alias));
            }

            Assert.True(stages.Count > 0, $"{FileName} line {startLine}: {keyword} before the first FROM");
            instructions.Add(new Instruction(keyword, args, stages.Count - 1, startLine));
        }

        return new DockerfileModel(instructions, stages);
    }
}
