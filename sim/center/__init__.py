"""Center layer: the SimPy contact-center engine, and stationary queues run through it.

The engine imports nothing from ``sim`` but the codes; see its module docstring for the
performance shape (no process and no patience timeout per caller).
"""
