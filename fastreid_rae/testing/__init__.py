"""Helpers for the tests and the benchmarks, never used by training: feature sets with known
identities (``features``). The image world the demo trains on is ``fastreid_rae.data.synthetic``."""
