"""Calibration: turn call logs, billing and account extracts into a fitted scenario,
say how sure each number is, and back-test the fitted model on held-out months."""
