"""State-machine models of the SYSRET-vs-IRET decision, proved with z3."""
