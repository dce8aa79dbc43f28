"""igsed: can post-hoc attributions of a sound classifier tell when sound events happen?"""
