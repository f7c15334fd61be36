"""naf_app: the PyQt6 desktop studio and the live audio engine; uses naf_model, never the reverse."""
