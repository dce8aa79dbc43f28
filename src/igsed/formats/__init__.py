"""File formats of the pipeline, each defined once with its reader beside its writer."""
