"""From a generation spec to finished files: plan (spec -> render configs), render, encode."""
