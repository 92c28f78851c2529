"""Prefect 3 flows over the picme library: one flow per stage, plus the pipeline.

Each flow is a thin wrapper: tasks call picme functions and pass settings and paths, never
DataFrames. Deployments are declared in prefect.yaml at the project root; see
docs/operations.md for server mode.
"""
