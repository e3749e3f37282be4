"""The web part: health probes now, the review pages of flagged stories."""
