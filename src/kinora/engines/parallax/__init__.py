"""The one-image engine: a photo cut into depth layers and moved by a camera path."""
