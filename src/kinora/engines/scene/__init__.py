"""Text to video by procedural illustration: prompt -> scene plan -> layered, animated frames."""
