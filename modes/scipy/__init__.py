"""Drop-in replacements for scipy functions that scipy implements in Python (so numpy dispatch never
reaches them): the same signatures, differentiable in both modes. Needs the ``scipy`` extra.
"""
