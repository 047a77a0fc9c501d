"""A small sample fleet (areas, SIM cards, customers, meters) for `hes demo`."""

from hes.demo.fleet import FleetSummary, load_sample_fleet

__all__ = ["FleetSummary", "load_sample_fleet"]
