"""PicMe: learn what makes a photo do well on Instagram and pick an album's highlights.

The library never imports Prefect; flows/ wires it into Prefect flows.
"""

__version__ = "0.1.0"
