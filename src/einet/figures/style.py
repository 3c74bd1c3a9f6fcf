"""Settings every figure is drawn with (:func:`einet.figures.draw` applies them).

Fonts are embedded in PDFs as TrueType (Type 42), which journals' PDF checks accept and editors can
change, rather than matplotlib's default Type 3 (glyphs drawn as paths).
"""

from __future__ import annotations

RC = {
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
}
