"""igsed: can Integrated Gradients of a sound classifier tell when sound events happen?"""

__version__ = "0.1.0"
