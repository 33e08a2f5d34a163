"""Kinora."""
