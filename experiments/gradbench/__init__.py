"""``modes`` as a GradBench tool: the protocol (``protocol``) and the command line (``run.py``)."""
