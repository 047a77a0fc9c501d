"""A fleet of simulated electricity meters that speak DLMS/COSEM, for demos, tests and benchmarks."""
