"""Open data: OCDS 1.1 releases and records, their schema check and API (app label `market`)."""
