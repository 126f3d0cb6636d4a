"""Faces: the ``billsim`` command line and the helpers behind the Streamlit page (``app.py``).

Thin by design: every number, ranking and verdict comes from the layers below.
"""
