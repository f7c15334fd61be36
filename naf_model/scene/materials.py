"""Acoustic materials: energy absorption per octave band and a broadband scattering coefficient.

Absorption coefficients are typical published values (random incidence) from the standard tables in
Vorländer, "Auralization" (2008), Appendix A, and Kuttruff, "Room Acoustics"; where a table stops at
4 kHz the 4 kHz value is carried to 8 kHz. Scattering values are typical figures for the surface's roughness.
"""

from __future__ import annotations

from dataclasses import dataclass

from naf_model.errors import SceneError

OCTAVE_BANDS_HZ = (125, 250, 500, 1000, 2000, 4000, 8000)
"""Centre frequencies of the absorption bands, Hz."""


@dataclass(frozen=True)
class Material:
    """absorption: 7 energy absorption coefficients in [0, 1) at `OCTAVE_BANDS_HZ`; scattering in [0, 1]."""

    absorption: tuple[float, float, float, float, float, float, float]
    scattering: float

    def __post_init__(self) -> None:
        assert len(self.absorption) == len(OCTAVE_BANDS_HZ)
        assert all(0.0 <= a < 1.0 for a in self.absorption)
        assert 0.0 <= self.scattering <= 1.0


MATERIALS: dict[str, Material] = {
    # heavy carpet on concrete
    "carpet": Material((0.02, 0.06, 0.14, 0.37, 0.60, 0.65, 0.65), 0.10),
    # glazed ceramic tiles
    "tiles": Material((0.01, 0.01, 0.01, 0.02, 0.02, 0.02, 0.02), 0.05),
    # smooth plaster on masonry
    "plaster": Material((0.013, 0.015, 0.02, 0.03, 0.04, 0.05, 0.05), 0.05),
    # wooden parquet on concrete
    "wood": Material((0.04, 0.04, 0.07, 0.06, 0.06, 0.07, 0.07), 0.10),
    # large panes of window glass
    "glass": Material((0.35, 0.25, 0.18, 0.12, 0.07, 0.04, 0.04), 0.05),
    # rough, unpainted concrete
    "concrete": Material((0.01, 0.02, 0.04, 0.06, 0.08, 0.10, 0.10), 0.10),
    # cotton curtains, draped to half their area
    "curtains": Material((0.07, 0.31, 0.49, 0.75, 0.70, 0.60, 0.60), 0.40),
    # unglazed brick
    "brick": Material((0.03, 0.03, 0.03, 0.04, 0.05, 0.07, 0.07), 0.15),
    # 12 mm plasterboard on studs with an air gap (panel resonance at low frequencies)
    "plasterboard": Material((0.29, 0.10, 0.05, 0.04, 0.07, 0.09, 0.09), 0.05),
    # 50 mm mineral-wool absorber panel
    "acoustic_panel": Material((0.18, 0.70, 0.95, 0.95, 0.95, 0.95, 0.95), 0.20),
    # ---- stone buildings (churches, halls): Vorlaender's table, as pyroomacoustics' materials database ----
    # limestone walls, dressed ashlar
    "limestone": Material((0.02, 0.02, 0.03, 0.04, 0.05, 0.05, 0.05), 0.15),
    # polished marble floor
    "marble": Material((0.01, 0.01, 0.01, 0.02, 0.02, 0.02, 0.02), 0.05),
    # 12 mm wooden lining fixed on a frame: panelled choir stalls, a boarded timber roof (panel resonance low)
    "wooden_lining": Material((0.27, 0.23, 0.22, 0.15, 0.10, 0.07, 0.06), 0.10),
    # unoccupied wooden pews or chairs without cushions, per m2 of the pews' faces ("wooden chairs, 2 per m2";
    # 4 kHz carried to 8 kHz); the rows' uneven backs scatter
    "wooden_pews": Material((0.05, 0.08, 0.10, 0.12, 0.12, 0.12, 0.12), 0.60),
    # ---- furniture and fittings (obstacle surfaces; per m2 of the obstacle's faces) -------------------
    # wooden cabinets, wardrobes, tables, kitchen units (closed panels over air): the "wooden panel /
    # plywood on battens" rows of the tables cited above; panel resonance lifts the low bands
    "wood_furniture": Material((0.18, 0.12, 0.10, 0.09, 0.08, 0.07, 0.07), 0.20),
    # fabric-upholstered sofa or armchair, unoccupied: the "upholstered seats, unoccupied" rows
    # (0.44-0.89 mid band in Kuttruff's and Vorlaender's tables), slightly lowered because a sofa's back
    # and sides are partly hard frame
    "upholstery": Material((0.40, 0.55, 0.70, 0.80, 0.80, 0.75, 0.75), 0.50),
    # bed: mattress with duvet and pillows; a thick porous layer (like heavy upholstery and the 50 mm
    # porous absorber rows), tops out below a mineral-wool panel because the ticking reflects a little
    "mattress": Material((0.35, 0.55, 0.75, 0.85, 0.85, 0.85, 0.85), 0.40),
    # filled bookshelf: an estimate between wooden panelling (the shelves) and a thin porous layer (the
    # books' paper edges); scattering is high because the book spines are uneven
    "bookshelf": Material((0.25, 0.30, 0.35, 0.40, 0.45, 0.45, 0.45), 0.70),
    # enamelled steel or ceramic bathtub and washbasin: the "glazed tile / marble" rows
    "ceramic": Material((0.01, 0.01, 0.01, 0.01, 0.02, 0.02, 0.02), 0.05),
    # kitchen worktop and cabinet fronts: laminate / stone top on wooden carcasses; between the "marble"
    # and the "wooden panel" rows (mostly hard, a little panel absorption)
    "kitchen_units": Material((0.10, 0.07, 0.06, 0.05, 0.05, 0.05, 0.05), 0.20),
    # ---- legacy stand-ins ------------------------------------------------------------------------------
    # Furnished floors (base floor material, then the furnishing), from before scenes had obstacles: a
    # lived-in room's sofa, bed, rugs, shelves and soft furnishings lumped into its floor as equivalent
    # absorption per m2 of floor, set so that empty plans reach the reverberation times measured in
    # furnished dwellings (about 0.4-0.6 s mid-frequency in living rooms and bedrooms). The bundled flats
    # now model their furniture as obstacles; these stay for user scenes without furniture.
    "wood_furnished": Material((0.20, 0.30, 0.45, 0.55, 0.60, 0.60, 0.60), 0.60),
    "carpet_furnished": Material((0.25, 0.40, 0.60, 0.70, 0.75, 0.75, 0.75), 0.60),
    "tiles_furnished": Material((0.10, 0.14, 0.20, 0.24, 0.26, 0.26, 0.26), 0.50),
    "tiles_bathroom": Material((0.05, 0.07, 0.10, 0.12, 0.14, 0.14, 0.14), 0.40),
    "wood_hall": Material((0.10, 0.15, 0.22, 0.28, 0.30, 0.30, 0.30), 0.40),
}


def check_material(name: object, where: str) -> str:
    """Return `name` if it is a known material, else raise SceneError naming `where` and the allowed names."""
    if not isinstance(name, str) or name not in MATERIALS:
        allowed = ", ".join(sorted(MATERIALS))
        raise SceneError(f"unknown material {name!r} for {where}; use one of: {allowed}")
    return name
