"""Use cases and the media lifecycle: what the API and the workers do to rows and credits."""
