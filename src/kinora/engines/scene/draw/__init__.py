"""What the text engine draws, one module per kind of thing; ``scene/render.py`` composes them.

Every layer is built once per render on the :class:`~.canvas.Canvas` (the frame plus margins,
so a moving camera still sees drawn scenery) and then drawn per frame through the homography
of its plane, which the renderer computes. The modules are plain functions over what they need
(the plan, the icons, the canvas), plus a class wherever something persists between frames:

- ``canvas.py``   the canvas geometry (frame size, margins, rest-view fractions to pixels)
- ``raster.py``   RGBA primitives every painter uses: premultiply, over, tint, haze, the
                  8-bit blend and the affine placement of a small image
- ``band.py``     a scenery layer as a cropped RGBA band, and how it is warped into a frame
- ``sky.py``      the sky (gradient, stars, nebulae, light rays, sun or moon and its glow,
                  rainbow) and clouds
- ``scenery.py``  the other bands: ridges (hills, mountains, water, road, foreground),
                  icons stamped along them, planets and the city
- ``subjects.py`` subject sprites (recoloured, tinted, with a shadow) and their placement
- ``effects.py``  weather and particles (snow, rain, fog, lightning, glows, hearts, ...)
- ``style.py``    the style pass over a finished frame (pixel, pastel, vintage, noir, ...)
"""
