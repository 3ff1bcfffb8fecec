"""The ceiling: a bare DRF create and list on a table shaped like leads, nothing else."""
