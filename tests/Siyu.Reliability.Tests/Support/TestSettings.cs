// Child processes, chDB and brokers compete for two cores: one test class at a time keeps each
// test's timing honest (a kill "mid-stream" stays mid-stream) and the run within its budget.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
