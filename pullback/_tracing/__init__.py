"""Tracing NumPy: how traced values answer NumPy's protocols and the ndarray methods."""
