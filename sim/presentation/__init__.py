"""Presentation layer: numbers as people read them, labels in two languages, figures and
the HTML report. Computes no KPI: it formats what the results and experiments layers say."""
