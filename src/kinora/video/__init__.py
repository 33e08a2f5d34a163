"""Frames as video: output sizes and crops, RGB <-> I420, MP4/GIF encoding and thumbnails."""
