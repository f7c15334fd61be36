"""Importing data from elsewhere into naf data sets: the NAF paper's metadata (`paper`), SoundSpaces binaural
RIR folders (`soundspaces`), MeshRIR measurements (`meshrir`); `free_space` derives a plan from positions."""
