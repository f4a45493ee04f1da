"""Reaching an `nbtrack server` as this process's store: its connection, what is sent to it."""
