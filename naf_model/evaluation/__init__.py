"""Evaluation of a field against interpolation baselines and the simulation floor (naf eval)."""
