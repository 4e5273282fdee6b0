"""Clients of external services shared by several apps."""
