"""Plots, overlays and labelled videos (never imported by compute code).

One module per topic; import from the submodule (e.g. ``mapose.viz.overlay``).
"""
