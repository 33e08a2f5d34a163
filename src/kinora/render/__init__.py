"""Frame geometry, camera paths and video encoding shared by the engines."""
