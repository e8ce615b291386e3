"""Metrics as the field computes them: answer normalisation, EM / EM-R, captioning, Beacon3D."""
