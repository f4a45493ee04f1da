"""Runs and experiments: the active-run stack, logging, capture, and the fluent API."""
