using System.CommandLine;
using Siyu.Host.Commands;

// `siyu`: one executable for every role. `demo` runs everything on the embedded stack,
// `run` is production, `produce`, `broker` and `check-identity` are tools for operators and tests.
var root = new RootCommand("Siyu: real-time private-domain customer pipeline (Kafka -> customer actors -> ClickHouse)")
{
    DemoCommand.Create(),
    RunCommand.Create(),
    ProduceCommand.Create(),
    DeadLetterCommand.Create(),
    BrokerCommand.Create(),
    BenchCommand.Create(),
    SimulateCommand.Create(),
    CheckIdentityCommand.Create(),
    KeyCommand.Create(),
};
// The host handles SIGTERM/Ctrl+C itself and needs time to drain and commit, so the parser
// must not kill the process two seconds after the signal.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
