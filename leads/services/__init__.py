"""Every change to a lead and its vocabulary: plain functions, one module per subject."""
