"""Helpers the tests share: HTTP and SLURM servers, fixtures' data, workflow runs."""
