"""Text: sentence segmentation by declarative per-language rules, and speech cleanup."""
