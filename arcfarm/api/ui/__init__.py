"""The dashboard: read-only, server-rendered pages of runs, tasks and programs under /ui/.

`routes` (the pages), `access` (who may look, and whether they may see test outputs),
`charts` (inline SVG, no JavaScript library), `shape` (sorting, filtering, the pass@n curve),
`grids` (the ARC palette). Every number comes from arcfarm.db.reads; assets are served from
arcfarm/api/static (no CDN).
"""
