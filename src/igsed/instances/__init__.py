"""Stage `instances`: the (clip, class) pairs every classifier-dependent method attributes."""
