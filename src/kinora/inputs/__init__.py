"""Getting inputs in: SSRF-safe downloads and careful decoding of images and videos."""
