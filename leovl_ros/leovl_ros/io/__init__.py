"""Readers and writers: RGB-D datasets (Redwood, 3DMatch, ScanNet layout) and QA annotations."""
