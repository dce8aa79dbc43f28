"""Glue that rules/common.smk imports: readable config errors and rule code digests."""
