"""The two-image engine: a flow-guided transition from the first frame to the last."""
