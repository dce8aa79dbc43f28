"""`igsed explain`: a finished run's models and methods on a user's own audio files."""
