"""Hosted providers (Replicate, fal, Runway, Luma) as engines; see docs/engines-plugins.md."""
