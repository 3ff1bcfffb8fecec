"""The performance harness: `make bench` seeds leads on PostgreSQL and prints one table."""
