using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Siyu.Benchmarks;

// Micro-benchmarks of one stage each (issue #14: measure the floor of each stage alone).
//   dotnet run -c Release --project benchmarks/Siyu.Benchmarks -- --filter '*'
//   dotnet run -c Release --project benchmarks/Siyu.Benchmarks -- --filter '*Commit*'
//   dotnet run -c Release --project benchmarks/Siyu.Benchmarks -- --filter '*Wire*'
// PostgreSQL cases run when SIYU_BENCH_POSTGRES holds a connection string of a server on this
// machine whose user may CREATE DATABASE (each case uses a fresh database and drops it);
// without it only SQLite runs. In-process toolchain: no generated project to restore/build.
var config = DefaultConfig.Instance
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(10))
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumn(PerRowColumns.All);
BenchmarkSwitcher.FromTypes(Databases.PostgresConnectionString is null
        ? [typeof(StageBenchmarks), typeof(StoreCommitBenchmarks), typeof(StoreLoadBenchmarks), typeof(WireBenchmarks)]
        : [typeof(StageBenchmarks), typeof(StoreCommitBenchmarks), typeof(StoreLoadBenchmarks), typeof(WireBenchmarks), typeof(PostgresMultiRowSnapshotBenchmarks)])
    .Run(args, config);
