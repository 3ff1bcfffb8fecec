"""The ceilings: a bare DRF create and list on a table shaped like leads, and a bare ListView
of the leads list page's rows, nothing else."""
