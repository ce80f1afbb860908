"""Service requests: drafting, publication, amendment, cancellation and their reads (app label `market`)."""
