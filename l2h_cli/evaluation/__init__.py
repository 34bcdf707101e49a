"""Evaluating hierarchies: metrics from contingency tables, labels, cuts."""
