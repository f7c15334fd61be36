"""How fast trained fields and the training loop run (`naf bench`): latency, throughput, map time, size and
held-out errors of fields (`benchmarks.fields`), training samples/s per preset (`benchmarks.train_speed`)."""
