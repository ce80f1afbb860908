"""Contracts: drafting, signing, delivery, extensions, acceptance and evaluation (app label `market`)."""
