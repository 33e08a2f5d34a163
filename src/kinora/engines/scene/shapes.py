"""Subjects no installed icon set has, built from shapes: SVG bodies drawn for this engine.

Fluent Emoji (and Noto, the fallback set) have no lighthouse and no hot-air balloon: their
nearest icons are a lattice radio tower and a party balloon, which is what a user saw before.
These are drawn here in the same flat style, on the same 32-unit grid as Fluent, and join
the icon set under names prefixed ``shape:``, so they are rasterised, cached and animated
like any icon. ``LAMPS`` says where a shape's light sits (for the lighthouse's beam).
"""

from __future__ import annotations

SHAPE_SIZE = 32
"""The viewBox every shape is drawn on (Fluent's grid)."""

_LIGHTHOUSE = (
    # base rock, white tapered tower, two red bands, door
    '<path fill="#6F747C" d="M7 29.6h18l1 1.9H6z"/>'
    '<path fill="#EEF1F4" d="M12 9h8l2.2 20.6H9.8z"/>'
    '<path fill="#D8343F" d="M11.58 13h8.84l.44 4.2h-9.72zM10.7 21.4h10.6l.44 4.2H10.26z"/>'
    '<path fill="#C9CFD6" d="M16 9h4l2.2 20.6H16z" opacity=".45"/>'
    '<path fill="#4B3A2E" d="M14.9 26.3a1.1 1.1 0 0 1 2.2 0v3.3h-2.2z"/>'
    # gallery, lamp room (lit glass between frames), dome and vane
    '<rect fill="#33383F" x="10.2" y="7.6" width="11.6" height="1.6" rx=".5"/>'
    '<rect fill="#FFE27A" x="13" y="4.1" width="6" height="3.5"/>'
    '<path fill="#33383F" d="M12.6 3.8h6.8v.7h-6.8zM12.6 3.8h.8v3.8h-.8zM15.6 3.8h.8v3.8h-.8z'
    'M18.6 3.8h.8v3.8h-.8z"/>'
    '<path fill="#D8343F" d="M12.2 4 16 1.1 19.8 4z"/>'
    '<path fill="#33383F" d="M15.7.3h.6v1.2h-.6z"/>'
)

_HOT_AIR_BALLOON = (
    '<defs><clipPath id="envelope"><path d="M16 1.2C9.4 1.2 5.2 5.8 5.2 11.4c0 4.7 3.7 8'
    ' 6.7 11.4h8.2c3-3.4 6.7-6.7 6.7-11.4 0-5.6-4.2-10.2-10.8-10.2z"/></clipPath></defs>'
    '<g clip-path="url(#envelope)">'
    '<rect fill="#E8453C" x="0" y="0" width="32" height="24"/>'
    '<ellipse fill="#FFC83D" cx="16" cy="10" rx="7.6" ry="14"/>'
    '<ellipse fill="#E8453C" cx="16" cy="10" rx="4.2" ry="14"/>'
    '<ellipse fill="#FFF1C2" cx="16" cy="10" rx="1.6" ry="14"/>'
    '<path fill="#B8322B" d="M0 18h32v6H0z" opacity=".55"/>'
    '<ellipse fill="#fff" cx="10.6" cy="7.4" rx="1.6" ry="3.4" opacity=".35"/>'
    "</g>"
    # ropes, burner, basket
    '<path stroke="#6B4A2F" stroke-width=".5" fill="none" d="M12.2 22.6 13.2 26M19.8 22.6'
    ' 18.8 26M14.6 22.8 14.9 26M17.4 22.8 17.1 26"/>'
    '<rect fill="#5B5F66" x="14.6" y="24.6" width="2.8" height="1.2" rx=".4"/>'
    '<rect fill="#A86E3A" x="12.4" y="26" width="7.2" height="5" rx="1"/>'
    '<path fill="#7E4F27" d="M12.4 27.2h7.2v.9h-7.2zM12.4 29.4h7.2v.9h-7.2z"/>'
)

SHAPES: dict[str, str] = {
    "shape:lighthouse": _LIGHTHOUSE,
    "shape:hot-air-balloon": _HOT_AIR_BALLOON,
}
"""Shape name -> SVG body on the ``SHAPE_SIZE`` grid."""

LAMPS: dict[str, tuple[float, float]] = {"shape:lighthouse": (0.5, 0.17)}
"""Where a shape's light is, as fractions of its drawn box (x from the left, y from the top)."""
