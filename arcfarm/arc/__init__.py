"""The ARC domain: grids, tasks, datasets, augmentation, the BARC prompt format, `common`, scoring.

Needs numpy only (no torch, no database, no queue), so anything else in arcfarm may build on it.
"""
